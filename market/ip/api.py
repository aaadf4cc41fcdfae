"""GET /api/v1/patents (search with facets) and GET /api/v1/patents/{id}."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

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


class SearchUnavailableError(DomainError):
    status = 503
    code = "search_unavailable"


@blp.route("/patents")
class Patents(MethodView):
    @blp.doc(security=[{"bearer": []}], parameters=PARAMS)
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
            "items": [finder.item_dict(a, today, hits.highlights.get(a.id)) for a in hits.items],
            "facets": {
                name: [{"value": v, "count": n, "label": labels.get(name, {}).get(v, v)} for v, n in buckets]
                for name, buckets in hits.facets.items()
            },
        }


@blp.route("/patents/<int:asset_id>")
class PatentItem(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @api_user(scope="read")
    def get(self, asset_id: int, actor):
        """One patent, with its eligibility for a 12-month loan with a 6-month margin (or term_months/margin_months)."""
        today = utcnow().date()
        asset = service.get_asset(db.session, asset_id)
        term = finder._int(request.args, "term_months", 12, 1, 360)
        margin = finder._int(request.args, "margin_months", 6, 0, 120)
        result = service.pledgeable(asset, today=today, term_months=term, margin_months=margin,
                                    eligible_kinds=service.eligible_kinds_in_force(db.session, today))
        item = finder.item_dict(asset, today)
        item.update(abstract=asset.abstract, inventors=asset.inventors,
                    pledgeable={"ok": result.ok, "reasons": result.reasons, "term_months": term,
                                "margin_months": margin})
        return item
