"""Pages: the bank's patent search, a patent's page, CSV export, "My IP assets", register/edit, staff import."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl, quote_plus, urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.datastructures import MultiDict, iter_multi_items

from market.accounts.models import Organisation, OrgKind, OrgStatus, Role
from market.areas import collect
from market.audit.models import AuditEntry
from market.db import db, utcnow
from market.errors import DomainError
from market.formkit import choices
from market.ip import finder, pagecache, saved, service
from market.ip.forms import AssetForm, ImportForm, SavedSearchForm
from market.ip.importer import import_bytes
from market.ip.indexing import get_backend, quick_drain
from market.ip.labels import FACET_TITLES, SORT_LABELS, LabelMemo
from market.paging import page_of
from market.sanitize import spreadsheet_row
from market.security import roles_required
from market.work import commit_or_flash
from search import SearchError

ip_bp = Blueprint("ip", __name__)
EXPORT_PAGE = 500
EXPORT_LIMIT = 10_000


@ip_bp.route("/patents")
@login_required
def search():
    today = utcnow().date()
    error = None
    key = None
    cache = pagecache.get_cache(current_app)
    try:
        params = finder.parse_params(request.args)
    except DomainError as exc:
        params = finder.PatentSearch()
        error = exc.localized()
        parts, status, searched = _results(params, today, error=error), 422, False
    else:
        if cache is not None:
            # The stamp is read before anything the fragment shows (see pagecache): never older than the data.
            stamp = pagecache.data_stamp(db.session)
            if stamp is not None:
                key = (repr(params), str(get_locale()), today, stamp)
        parts = cache.get(key) if key is not None else None
        if parts is not None:
            status, searched = 200, True
        else:
            parts, status, searched = _search_results(params, today)
            if key is not None and status == 200:
                cache.put(key, parts)
    save_form = None
    if current_user.role is Role.BANK and searched:
        # The fields of SavedSearchForm, rendered by hand (building the WTForms form cost more than the cached
        # results); posted to saved_searches, which validates it with SavedSearchForm.
        save_form = {"query": urlencode(params.as_args(), doseq=True), "name": params.q[:100], "label": _("Name")}
    return render_template("ip/search.html", results_head=parts[0], results_tail=parts[1],
                           save_form=save_form), status


# Where the save-search form goes inside the cached fragment (escaped text can never contain it).
_SAVE_SLOT = Markup("<!--ip-save-search-form-->")
_URL_SAFE = "!$'()*,/:;?@"  # what werkzeug's url building leaves unquoted in query strings


def _search_results(params: finder.PatentSearch, today) -> tuple[tuple[Markup, Markup], int, bool]:
    """Search and render the cacheable fragment: ((head, tail), status, whether the search ran)."""
    try:
        hits = finder.run(db.session, get_backend(), finder.build_query(params, today), catch_up=True)
        labels = finder.facet_labels(db.session, hits.facets)
    except DomainError as exc:
        return _results(params, today, error=exc.localized()), 422, False
    except SearchError:
        error = _("The search engine is not available right now. Please try again shortly.")
        return _results(params, today, error=error), 503, False
    return _results(params, today, hits=hits, labels=labels), 200, True


def _results(params: finder.PatentSearch, today, *, hits: finder.Hits | None = None, labels: dict | None = None,
             error: str | None = None) -> tuple[Markup, Markup]:
    pages = max((hits.total + params.per_page - 1) // params.per_page, 1) if hits else 1
    pages = min(pages, 10_000 // params.per_page)
    search_url = url_for("ip.search")
    html = render_template(
        "ip/_search_results.html", params=params, hits=hits, error=error, page=params.page, pages=pages,
        sorts=[(s, str(SORT_LABELS[s])) for s in finder.SORTS], search_url=search_url,
        facets=_facet_links(params, hits.facets, labels or {}, search_url) if hits else [],
        items=[finder.item_dict(a, today, hits.highlights.get(a.id)) for a in hits.items] if hits else [],
        label=LabelMemo(), years_text=Markup(_("%(years)s yrs")), save_slot=_SAVE_SLOT,
        patent_url=url_for("ip.patent", asset_id=987654321).replace("987654321", "{}"),
    )
    head, _slot, tail = html.partition(str(_SAVE_SLOT))
    return Markup(head), Markup(tail)


def _facet_links(params: finder.PatentSearch, facets: dict, labels: dict, base: str) -> list:
    """[(title, [(href, active, label, count)])] for the sidebar: the first 12 values of each facet.

    Each href equals `url_for("ip.search", **params.toggled(name, value))`, built from the parts of the query
    string that do not change (one quoting per value instead of one URL build per link).
    """
    def pairs(items) -> str:
        return "&".join(f"{quote_plus(str(k), _URL_SAFE)}={quote_plus(str(v), _URL_SAFE)}"
                        for k, v in iter_multi_items(dict(items)) if v is not None)

    args = params.as_args()
    keys = list(args)
    out = []
    for name in finder.FACETS:
        buckets = facets.get(name) or []
        if not buckets:
            continue
        current = list(params.filters.get(name, []))
        if name in args:
            at = keys.index(name)
            before = pairs([(k, args[k]) for k in keys[:at]])
            after = pairs([(k, args[k]) for k in keys[at + 1:]])
        else:
            before, after = pairs(args), ""
        names = labels.get(name, {})
        links = []
        for value, count in buckets[:12]:
            active = value in current
            chosen = [v for v in current if v != value] if active else current + [value]
            middle = pairs([(name, chosen)])
            query = "&".join(p for p in (before, middle, after) if p)
            links.append((f"{base}?{query}" if query else base, active, names.get(value, value), count))
        out.append((str(FACET_TITLES[name]), links))
    return out


@ip_bp.route("/patents/export.csv")
@login_required
def export_csv():
    today = utcnow().date()
    try:
        params = finder.parse_params(request.args)
        finder.build_query(params, today)
    except DomainError as exc:
        return Response(exc.localized() + "\n", status=422, mimetype="text/plain")
    backend = get_backend()
    header = ["id", "publication_number", "application_number", "title", "kind", "ipc", "legal_status",
              "legal_status_raw", "pledge_state", "owner", "applicants", "filing_date", "grant_date", "expiry_date",
              "remaining_years"]

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # Excel opens UTF-8 Chinese correctly with a BOM
        writer.writerow(header)
        yield buffer.getvalue()
        page = 1
        while (page - 1) * EXPORT_PAGE < EXPORT_LIMIT:
            query = finder.build_query(params, today, page=page, per_page=EXPORT_PAGE, facets=False)
            hits = finder.run(db.session, backend, query)
            buffer.seek(0)
            buffer.truncate()
            for asset in hits.items:
                item = finder.item_dict(asset, today)
                item["ipc"] = " ".join(item["ipc"])
                writer.writerow(spreadsheet_row("" if item[k] is None else item[k] for k in header))
            yield buffer.getvalue()
            if page * EXPORT_PAGE >= hits.total:
                break
            page += 1

    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=patents.csv"
    return response


@ip_bp.route("/patents/<int:asset_id>")
@login_required
def patent(asset_id: int):
    asset = service.get_asset(db.session, asset_id)
    today = utcnow().date()
    try:
        term = finder._int(request.args, "term_months", 12, 1, 360)
        margin = finder._int(request.args, "margin_months", 6, 0, 120)
    except DomainError as exc:
        flash(exc.localized(), "error")
        term, margin = 12, 6
    eligibility = service.pledgeable(asset, today=today, term_months=term, margin_months=margin,
                                     eligible_kinds=service.eligible_kinds_in_force(db.session, today))
    history = []
    if current_user.role is Role.STAFF or service.can_edit(current_user, asset):
        history = db.session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "ip_asset", AuditEntry.entity_id == str(asset.id))
            .order_by(AuditEntry.id)
        ).all()
    sections = [render(db.session, current_user, asset)
                for _position, render in sorted(collect("patent_sections"), key=lambda section: section[0])]
    return render_template("ip/patent.html", asset=asset, item=finder.item_dict(asset, today),
                           eligibility=eligibility, term=term, margin=margin, history=history,
                           can_edit=service.can_edit(current_user, asset), sections=sections)


MINE_PAGE = 30


@ip_bp.route("/ip/mine")
@roles_required(Role.ENTERPRISE)
def mine():
    today = utcnow().date()
    org_id = current_user.organisation_id
    paged = page_of(service.count_assets_of(db.session, org_id) if org_id else 0, MINE_PAGE)
    assets = service.assets_of(db.session, org_id, paged.offset, paged.size) if org_id else []
    kinds = service.eligible_kinds_in_force(db.session, today)
    rows = [(a, service.pledgeable(a, today=today, term_months=12, margin_months=6, eligible_kinds=kinds))
            for a in assets]
    return render_template("ip/mine.html", rows=rows, today=today, page=paged.page, pages=paged.pages,
                           total=paged.total)


@ip_bp.route("/ip/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def new():
    form = AssetForm()
    if form.validate_on_submit():
        ok, asset = commit_or_flash(lambda: service.register_asset(db.session, current_user, form.data_object(),
                                                                   utcnow()), _("The IP asset was registered."))
        if ok:
            quick_drain()
            return redirect(url_for("ip.patent", asset_id=asset.id))
    return render_template("ip/edit.html", form=form, asset=None)


@ip_bp.route("/ip/<int:asset_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE, Role.STAFF)
def edit(asset_id: int):
    asset = service.get_asset(db.session, asset_id)
    if not service.can_edit(current_user, asset):
        flash(_("You may only edit your own organisation's assets."), "error")
        return redirect(url_for("ip.patent", asset_id=asset_id))
    form = AssetForm()
    if request.method == "GET":
        form.fill(asset)
    if form.validate_on_submit():
        ok, _asset = commit_or_flash(lambda: service.update_asset(db.session, current_user, asset_id,
                                                                  form.data_object(), utcnow()), _("Changes saved."))
        if ok:
            quick_drain()
            return redirect(url_for("ip.patent", asset_id=asset_id))
    return render_template("ip/edit.html", form=form, asset=asset)


@ip_bp.route("/ip/import", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def bulk_import():
    form = ImportForm()
    enterprises = db.session.scalars(
        select(Organisation).where(Organisation.kind == OrgKind.ENTERPRISE, Organisation.status == OrgStatus.VERIFIED)
        .order_by(Organisation.name)
    ).all()
    form.owner.choices = choices([("", _("— none —"))] + [(str(o.id), o.name) for o in enterprises])
    report = None
    if form.validate_on_submit():
        owner = db.session.get(Organisation, int(form.owner.data)) if form.owner.data else None
        upload = form.file.data
        ok, report = commit_or_flash(lambda: import_bytes(
            db.session, current_user, upload.read(), upload.filename or "upload.csv", utcnow(), owner=owner,
            checkpoint=db.session.commit))
        if ok:
            quick_drain(limit=20_000)
            flash(_("Import finished: %(created)s created, %(updated)s updated, %(rejected)s rejected.",
                    created=report.created, updated=report.updated, rejected=len(report.rejected)), "success")
    return render_template("ip/import.html", form=form, report=report)


# ------------------------------------------------------------------------------------------- saved searches


@ip_bp.route("/patents/saved", methods=["GET", "POST"])
@roles_required(Role.BANK)
def saved_searches():
    form = SavedSearchForm()
    if request.method == "POST":
        if form.validate_on_submit():
            ok, item = commit_or_flash(lambda: saved.save_search(
                db.session, current_user, form.name.data, MultiDict(parse_qsl(form.query.data or "")), utcnow()))
            if ok:
                flash(_("Saved. You will get a notice when new patents match \u201c%(name)s\u201d.", name=item.name),
                      "success")
        else:
            flash(_("Give the saved search a name of at most 100 characters."), "error")
        return redirect(url_for("ip.saved_searches"))
    now = utcnow()
    items = saved.saved_searches_of(db.session, current_user)
    counts = saved.new_counts(db.session, get_backend(), current_user, now) if items else {}
    return render_template("ip/saved.html", items=items, counts=counts, describe=saved.describe)


@ip_bp.route("/patents/saved/<int:saved_id>")
@roles_required(Role.BANK)
def open_saved_search(saved_id: int):
    ok, args = commit_or_flash(lambda: saved.open_saved_search(db.session, current_user, saved_id, utcnow()))
    return redirect(url_for("ip.search", **args) if ok else url_for("ip.saved_searches"))


@ip_bp.route("/patents/saved/<int:saved_id>/delete", methods=["POST"])
@roles_required(Role.BANK)
def delete_saved_search(saved_id: int):
    commit_or_flash(lambda: saved.delete_saved_search(db.session, current_user, saved_id),
                    _("The saved search was deleted."))
    return redirect(url_for("ip.saved_searches"))


def saved_card_text() -> str:
    """The bank workspace card: how many patents are new in the user's saved searches since last opened."""
    try:
        items = saved.saved_searches_of(db.session, current_user)
        if not items:
            return _("Save a patent search to be told when new patents match it.")
        counts = saved.new_counts(db.session, get_backend(), current_user, utcnow())
    except Exception:  # noqa: BLE001 - a card never breaks the workspace
        return _("Your saved patent searches.")
    new = sum(n or 0 for n in counts.values())
    return _("%(searches)s saved searches, %(new)s new matching patents since you last looked.",
             searches=len(items), new=new)
