"""GET /api/v1/patents (search with facets) and GET /api/v1/patents/{id}."""

from __future__ import annotations

from datetime import date

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from market.api.auth import api_user
from market.db import db, utcnow
from market.errors import DomainError
from market.ip import finder, service
from market.ip.indexing import get_backend
from search import SearchError

blp = Blueprint("patents", __name__, url_prefix="/api/v1", description="Patent search for banks")

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


class PatentFacetBucketOut(Schema):
    value = fields.String()
    count = fields.Integer()
    label = fields.String()


class PatentPage(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(PatentOut))
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(PatentFacetBucketOut)))


class PledgeableOut(Schema):
    ok = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={"description": "why not (English message ids)"})
    term_months = fields.Integer()
    margin_months = fields.Integer()
    remaining_months = fields.Integer(allow_none=True)


class PatentDetailOut(PatentOut):
    abstract = fields.String(allow_none=True)
    inventors = fields.String(allow_none=True)
    pledgeable = fields.Nested(PledgeableOut)


def _item(asset, today: date, highlight: dict[str, str] | None = None) -> dict:
    """The shared search item, its dates as dates (the schema writes them as ISO 8601)."""
    item = finder.item_dict(asset, today, highlight)
    for key in ("filing_date", "grant_date", "expiry_date"):
        item[key] = date.fromisoformat(item[key]) if item[key] else None
    return item


class SearchUnavailableError(DomainError):
    status = 503
    code = "search_unavailable"


@blp.route("/patents")
class Patents(MethodView):
    @blp.doc(security=[{"bearer": []}], parameters=PARAMS)
    @blp.response(200, PatentPage)
    @api_user(scope="read")
    def get(self, actor):
        """Search patents: full text, filters (repeat a parameter for OR), facets with counts, paging."""
        today = utcnow().date()
        params = finder.parse_params(request.args)
        query = finder.build_query(params, today)
        try:
            hits = finder.run(db.session, get_backend(), query)
        except SearchError as exc:
            raise SearchUnavailableError("The search engine is not available right now. Please try again shortly.") \
                from exc
        labels = finder.facet_labels(db.session, hits.facets)
        return {
            "total": hits.total,
            "page": params.page,
            "per_page": params.per_page,
            "items": [_item(a, today, hits.highlights.get(a.id)) for a in hits.items],
            "facets": {
                name: [{"value": v, "count": n, "label": labels.get(name, {}).get(v, v)} for v, n in buckets]
                for name, buckets in hits.facets.items()
            },
        }


@blp.route("/patents/<int:asset_id>")
class PatentItem(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @blp.response(200, PatentDetailOut)
    @api_user(scope="read")
    def get(self, asset_id: int, actor):
        """One patent, with its eligibility for a 12-month loan with a 6-month margin (or term_months/margin_months)."""
        today = utcnow().date()
        asset = service.get_asset(db.session, asset_id)
        term = finder._int(request.args, "term_months", 12, 1, 360)
        margin = finder._int(request.args, "margin_months", 6, 0, 120)
        result = service.pledgeable(asset, today=today, term_months=term, margin_months=margin,
                                    eligible_kinds=service.eligible_kinds_in_force(db.session, today))
        item = _item(asset, today)
        item.update(abstract=asset.abstract, inventors=asset.inventors,
                    pledgeable={"ok": result.ok, "reasons": result.reasons, "term_months": term,
                                "margin_months": margin, "remaining_months": result.remaining_months})
        return item
