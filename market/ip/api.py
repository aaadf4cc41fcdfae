"""GET /api/v1/patents (search with facets) and GET /api/v1/patents/{id}."""

from __future__ import annotations

from datetime import date

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.datastructures import MultiDict

from market.accounts.models import Role
from market.api.auth import api_user
from market.api.fields import UtcDateTime
from market.areas import collect
from market.db import db, utcnow
from market.errors import DomainError, InvalidInput
from market.ip import finder, saved, service
from market.ip.indexing import get_backend, quick_drain
from market.ip.models import IpKind, LegalStatus, SavedSearch
from market.work import commit_or_rollback
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


class PatentOwnDetailOut(PatentOut):
    abstract = fields.String(allow_none=True)
    inventors = fields.String(allow_none=True)
    pledgeable = fields.Nested(PledgeableOut)


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
        item.update({name: read(db.session, actor, asset) for name, _field, read in DETAILS})
        return item


# --- saved searches (a bank is told when new patents match) ---------------------------------------------------


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


class SavedSearchList(Schema):
    items = fields.List(fields.Nested(SavedSearchOut))


def _saved_json(item, new_count: int | None) -> dict:
    return {"id": item.id, "name": item.name, "query": item.query, "created_at": item.created_at,
            "last_seen_at": item.last_seen_at, "new_count": new_count}


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
    @blp.doc(security=[{"bearer": []}])
    @blp.response(200, SavedSearchList)
    @api_user(Role.BANK, scope="read")
    def get(self, actor):
        """The bank user's saved patent searches, each with the number of new matches since last marked seen."""
        now = utcnow()
        items = saved.saved_searches_of(db.session, actor)
        counts = saved.new_counts(db.session, get_backend(), actor, now) if items else {}
        return {"items": [_saved_json(x, counts.get(x.id)) for x in items]}

    @blp.doc(security=[{"bearer": []}])
    @blp.arguments(SavedSearchIn)
    @blp.response(201, SavedSearchOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, actor):
        """Save a patent search: a notice comes when newly registered or imported patents match it."""
        item = commit_or_rollback(lambda: saved.save_search(db.session, actor, data["name"],
                                                            _query_args(data["query"]), utcnow()))
        return _saved_json(item, 0)


@blp.route("/saved-searches/<int:saved_id>")
class SavedSearchOne(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @blp.response(204)
    @api_user(Role.BANK, scope="write")
    def delete(self, saved_id, actor):
        """Delete one of the user's saved searches."""
        commit_or_rollback(lambda: saved.delete_saved_search(db.session, actor, saved_id))


@blp.route("/saved-searches/<int:saved_id>/seen", methods=["POST"])
@blp.doc(security=[{"bearer": []}])
@blp.response(200, SavedSearchOut)
@api_user(Role.BANK, scope="write")
def saved_search_seen(saved_id, actor):
    """Mark the saved search as seen now (as opening it on the web does): new matches count from here. Run its
    `query` with GET /patents."""
    commit_or_rollback(lambda: saved.open_saved_search(db.session, actor, saved_id, utcnow()))
    return _saved_json(db.session.get(SavedSearch, saved_id), 0)  # open_saved_search checked it is the user's


# --- registering an asset (parity with the page /ip/new) --------------------------------------------------------


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


@blp.route("/assets", methods=["POST"])
@blp.arguments(AssetIn)
@blp.response(201, PatentOut)
@blp.doc(security=[{"bearer": []}])
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
