"""Body shapes the API areas share: a list `{"items": [...]}`, the position of a page in a longer result and the
facet counts beside it. The areas name their own bodies (`items_of(PatentOut, "PatentList")`, a subclass of `Paged`)
so the OpenAPI document keeps one component per body."""

from __future__ import annotations

from marshmallow import Schema, fields


def items_of(schema: type[Schema], name: str, **kw) -> type[Schema]:
    """A body `{"items": [...]}` of `schema` objects, called `name` in the API document (`kw`: the list field's
    options, such as required=True)."""
    return Schema.from_dict({"items": fields.List(fields.Nested(schema), **kw)}, name=name)


class Paged(Schema):
    """One page of a longer result: `total` items in all, this is page `page` of `per_page` items."""

    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class FacetBucket(Schema):
    """One value of a facet and how many items of the whole result hold it."""

    value = fields.String()
    count = fields.Integer()


def facets_of(bucket: type[FacetBucket], **kw) -> fields.Dict:
    """The facets of a result: each facet's name to its buckets, most frequent first."""
    return fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(bucket)), **kw)
