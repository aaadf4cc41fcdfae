"""The JSON shapes of the patent API: the search parameters, patents, saved searches and a new asset. Response
schemas dump the search items (`finder.item_dict`) and the saved searches themselves."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from market.api.fields import UtcDateTime
from market.api.pages import FacetBucket, Paged, facets_of, items_of
from market.ip import finder
from market.ip.models import IpKind, LegalStatus

PARAMS = [
    {"in": "query", "name": "q", "schema": {"type": "string"}, "description": "Chinese or English full text"},
    {"in": "query", "name": "page", "schema": {"type": "integer", "minimum": 1}},
    {"in": "query", "name": "per_page", "schema": {"type": "integer", "minimum": 1, "maximum": finder.MAX_PER_PAGE}},
    {"in": "query", "name": "sort", "schema": {"type": "string", "enum": list(finder.SORTS)}},
    {"in": "query", "name": "pledgeable", "schema": {"type": "integer", "enum": [0, 1]}},
    {"in": "query", "name": "term_months", "schema": {"type": "integer", "minimum": 1, "maximum": 360}},
    {"in": "query", "name": "margin_months", "schema": {"type": "integer", "minimum": 0, "maximum": 120}},
] + [
    {"in": "query", "name": name, "schema": {"type": "array", "items": {"type": "string"}}, "explode": True}
    for name in finder.FACETS
]
QUERY_KEYS = [p["name"] for p in PARAMS if p["name"] not in ("page", "per_page")]



class PatentOut(Schema):
    id = fields.Integer(required=True)
    publication_number = fields.String(allow_none=True)
    application_number = fields.String(allow_none=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    ipc = fields.List(fields.String(), required=True)
    legal_status = fields.String(required=True)
    legal_status_raw = fields.String(allow_none=True)
    pledge_state = fields.String(required=True)
    frozen = fields.Boolean()
    applicants = fields.String(allow_none=True, metadata={"description": "as CNIPA lists them, ' ; '-separated"})
    owner = fields.String(allow_none=True)
    filing_date = fields.Date(allow_none=True)
    grant_date = fields.Date(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    remaining_years = fields.Float(allow_none=True)
    highlight = fields.Dict(keys=fields.String(), values=fields.String())


class PatentFacetBucketOut(FacetBucket):
    label = fields.String()


class PatentPage(Paged):
    items = fields.List(fields.Nested(PatentOut))
    facets = facets_of(PatentFacetBucketOut)


class PledgeableOut(Schema):
    ok = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={"description": "why not (English message ids)"})
    term_months = fields.Integer()
    margin_months = fields.Integer()
    remaining_months = fields.Integer(allow_none=True)


class PatentOwnDetailOut(PatentOut):
    abstract = fields.String(allow_none=True)
    inventors = fields.String(allow_none=True)
    pledgeable = fields.Nested(PledgeableOut)


class SavedSearchIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    query = fields.Dict(keys=fields.String(validate=validate.OneOf(QUERY_KEYS)), values=fields.Raw(),
                        load_default=dict, metadata={
                            "description": "the search as GET /patents takes it: q, sort, pledgeable, term_months, "
                                           "margin_months and the filters (a list for several values)",
                            "example": {"q": "电池", "kind": ["invention"], "pledgeable": 1}})


class SavedSearchOut(Schema):
    id = fields.Integer()
    name = fields.String()
    query = fields.Dict(keys=fields.String(), values=fields.Raw())
    created_at = UtcDateTime()
    last_seen_at = UtcDateTime()
    new_count = fields.Integer(allow_none=True, metadata={
        "description": "patents matching since it was last marked seen (null when the search engine is down)"})


SavedSearchList = items_of(SavedSearchOut, "SavedSearchList")


class AssetIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in IpKind]))
    title = fields.String(required=True, validate=validate.Length(1, 500))
    application_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    publication_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    registration_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    abstract = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    ipc_codes = fields.List(fields.String(validate=validate.Length(max=20)), load_default=list,
                            validate=validate.Length(max=50))
    applicants = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    inventors = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    filing_date = fields.Date(load_default=None, allow_none=True)
    grant_date = fields.Date(load_default=None, allow_none=True)
    legal_status = fields.String(load_default=LegalStatus.APPLICATION.value,
                                 validate=validate.OneOf([s.value for s in LegalStatus]))
    frozen = fields.Boolean(load_default=False)
