"""GET /api/v1/patents (search with facets) and GET /api/v1/patents/{id}."""

from __future__ import annotations

from datetime import date

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.datastructures import MultiDict

from market.accounts.models import Role
from market.api.auth import api_user
from market.areas import collect
from market.db import db, utcnow
from market.errors import DomainError, InvalidInput
from market.ip import finder, saved, service
from market.ip.indexing import get_backend, quick_drain
from market.ip.models import IpKind, LegalStatus, SavedSearch
from market.ip.schemas import (
    PARAMS,
    AssetIn,
    PatentOut,
    PatentOwnDetailOut,
    PatentPage,
    SavedSearchIn,
    SavedSearchList,
    SavedSearchOut,
)
from market.work import commit_or_rollback
from search import SearchError

blp = Blueprint("patents", __name__, url_prefix="/api/v1", description="Patent search for banks")

# One patent: its own details and what higher areas add (the `patent_details` contributions, read when the API is
# registered: market/ip/area.py imports this module only then).
DETAILS = collect("patent_details")
PatentDetailOut = PatentOwnDetailOut.from_dict({name: field for name, field, _read in DETAILS},
                                               name="PatentDetailOut")


def _item(asset, today: date, highlight: dict[str, str] | None = None) -> dict:
    """The shared search item, its dates as dates (the schema writes them as ISO 8601)."""
    item = finder.item_dict(asset, today, highlight)
    for key in ("filing_date", "grant_date", "expiry_date"):
        item[key] = date.fromisoformat(item[key]) if item[key] else None
    return item


class SearchUnavailableError(DomainError, status=503, code="search_unavailable"):
    """The search engine does not answer."""


@blp.route("/patents")
class Patents(MethodView):
    @blp.doc(parameters=PARAMS)
    @blp.response(200, PatentPage)
    @api_user(scope="read")
    def get(self, actor):
        """Search patents: full text, filters (repeat a parameter for OR), facets with counts, paging."""
        today = utcnow().date()
        params = finder.parse_params(request.args)
        query = finder.build_query(params, today)
        try:
            hits = finder.run(db.session, get_backend(), query, catch_up=True)
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
        item.update({name: read(db.session, actor, asset) for name, _field, read in DETAILS})
        return item


# --- saved searches (a bank is told when new patents match) ---------------------------------------------------


def _query_args(query: dict) -> MultiDict:
    args = MultiDict()
    for key, value in query.items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, bool) or not isinstance(v, str | int):
                raise InvalidInput("Each search parameter takes text or a whole number, or a list of them.")
            args.add(key, str(v))
    return args


@blp.route("/saved-searches")
class SavedSearches(MethodView):
    @blp.response(200, SavedSearchList)
    @api_user(Role.BANK, scope="read")
    def get(self, actor):
        """The bank user's saved patent searches, each with the number of new matches since last marked seen."""
        now = utcnow()
        items = saved.saved_searches_of(db.session, actor)
        counts = saved.new_counts(db.session, get_backend(), actor, now) if items else {}
        for item in items:
            item.new_count = counts.get(item.id)
        return {"items": items}

    @blp.arguments(SavedSearchIn)
    @blp.response(201, SavedSearchOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, actor):
        """Save a patent search: a notice comes when newly registered or imported patents match it."""
        item = commit_or_rollback(lambda: saved.save_search(db.session, actor, data["name"],
                                                            _query_args(data["query"]), utcnow()))
        return item


@blp.route("/saved-searches/<int:saved_id>")
class SavedSearchOne(MethodView):
    @blp.response(204)
    @api_user(Role.BANK, scope="write")
    def delete(self, saved_id, actor):
        """Delete one of the user's saved searches."""
        commit_or_rollback(lambda: saved.delete_saved_search(db.session, actor, saved_id))


@blp.route("/saved-searches/<int:saved_id>/seen", methods=["POST"])
@blp.response(200, SavedSearchOut)
@api_user(Role.BANK, scope="write")
def saved_search_seen(saved_id, actor):
    """Mark the saved search as seen now (as opening it on the web does): new matches count from here. Run its
    `query` with GET /patents."""
    commit_or_rollback(lambda: saved.open_saved_search(db.session, actor, saved_id, utcnow()))
    item = db.session.get(SavedSearch, saved_id)  # open_saved_search checked it is the user's
    item.new_count = 0
    return item


# --- registering an asset (parity with the page /ip/new) --------------------------------------------------------


@blp.route("/assets", methods=["POST"])
@blp.arguments(AssetIn)
@blp.response(201, PatentOut)
@api_user(Role.ENTERPRISE, scope="write")
def register_asset(data, actor):
    """An enterprise registers one of its IP assets (the same checks as the page: numbers normalised and unique,
    the application number matching the kind, no future dates); 409 when the number is already registered."""
    def blank(value):
        return value.strip() or None if isinstance(value, str) else value

    asset_data = service.AssetData(
        kind=IpKind(data["kind"]), title=data["title"], legal_status=LegalStatus(data["legal_status"]),
        ipc_codes=data["ipc_codes"], filing_date=data["filing_date"], grant_date=data["grant_date"],
        frozen=data["frozen"], **{key: blank(data[key]) for key in (
            "application_number", "publication_number", "registration_number", "abstract", "applicants",
            "inventors")})
    asset = commit_or_rollback(lambda: service.register_asset(db.session, actor, asset_data, utcnow()))
    quick_drain()
    return _item(asset, utcnow().date())
