"""Pages: the bank's patent search, a patent's page, CSV export, "My IP assets", register/edit, staff import."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from market.accounts.models import Organisation, OrgKind, OrgStatus, Role
from market.audit.models import AuditEntry
from market.db import db, utcnow
from market.errors import DomainError
from market.formkit import choices
from market.ip import finder, saved, service
from market.ip.forms import AssetForm, ImportForm, SavedSearchForm
from market.ip.indexing import get_backend, quick_drain
from market.security import roles_required
from search import SearchError

ip_bp = Blueprint("ip", __name__)
EXPORT_PAGE = 500
EXPORT_LIMIT = 10_000


@ip_bp.route("/patents")
@login_required
def search():
    today = utcnow().date()
    error = None
    hits = None
    labels: dict = {}
    try:
        params = finder.parse_params(request.args)
    except DomainError as exc:
        params = finder.PatentSearch()
        error = exc.localized()
        status = 422
    else:
        status = 200
        try:
            hits = finder.run(db.session, get_backend(), finder.build_query(params, today))
            labels = finder.facet_labels(db.session, hits.facets)
        except DomainError as exc:
            error, status = exc.localized(), 422
        except SearchError:
            error, status = _("The search engine is not available right now. Please try again shortly."), 503
    pages = max((hits.total + params.per_page - 1) // params.per_page, 1) if hits else 1
    pages = min(pages, 10_000 // params.per_page)
    save_form = None
    if current_user.role is Role.BANK and hits is not None:
        save_form = SavedSearchForm(formdata=None, query=urlencode(params.as_args(), doseq=True),
                                    name=params.q[:100])
    return render_template(
        "ip/search.html", params=params, hits=hits, labels=labels, error=error, page=params.page, pages=pages,
        today=today, facet_names=finder.FACETS, sorts=list(finder.SORTS), save_form=save_form,
        items=[finder.item_dict(a, today, hits.highlights.get(a.id)) for a in hits.items] if hits else [],
    ), status


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
                writer.writerow(["" if item[k] is None else item[k] for k in header])
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
    from market.loans.models import Pledge
    from market.valuations.service import visible_valuations

    # Pledge registrations are public record (CNIPA publishes them): number, date, bank and whether still active.
    pledges = db.session.scalars(
        select(Pledge).where(Pledge.asset_id == asset.id).order_by(Pledge.registered_on.desc(), Pledge.id.desc())
    ).all()
    return render_template("ip/patent.html", asset=asset, item=finder.item_dict(asset, today),
                           eligibility=eligibility, term=term, margin=margin, history=history,
                           can_edit=service.can_edit(current_user, asset), pledges=pledges,
                           valuations=visible_valuations(db.session, current_user, asset.id))


@ip_bp.route("/ip/mine")
@roles_required(Role.ENTERPRISE)
def mine():
    today = utcnow().date()
    org_id = current_user.organisation_id
    assets = service.assets_of(db.session, org_id) if org_id else []
    kinds = service.eligible_kinds_in_force(db.session, today)
    rows = [(a, service.pledgeable(a, today=today, term_months=12, margin_months=6, eligible_kinds=kinds))
            for a in assets]
    return render_template("ip/mine.html", rows=rows, today=today)


@ip_bp.route("/ip/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def new():
    form = AssetForm()
    if form.validate_on_submit():
        try:
            asset = service.register_asset(db.session, current_user, form.data_object(), utcnow())
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.localized(), "error")
        else:
            quick_drain()
            flash(_("The IP asset was registered."), "success")
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
        try:
            service.update_asset(db.session, current_user, asset_id, form.data_object(), utcnow())
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.localized(), "error")
        else:
            quick_drain()
            flash(_("Changes saved."), "success")
            return redirect(url_for("ip.patent", asset_id=asset_id))
    return render_template("ip/edit.html", form=form, asset=asset)


@ip_bp.route("/ip/import", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def bulk_import():
    from market.ip.importer import import_bytes

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
        try:
            report = import_bytes(db.session, current_user, upload.read(), upload.filename or "upload.csv",
                                  utcnow(), owner=owner)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.localized(), "error")
        else:
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
            try:
                item = saved.save_search(db.session, current_user, form.name.data,
                                         MultiDict(parse_qsl(form.query.data or "")), utcnow())
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                flash(exc.localized(), "error")
            else:
                flash(_("Saved. You will get a notice when new patents match \u201c%(name)s\u201d.", name=item.name),
                      "success")
        else:
            flash(_("Give the saved search a name of at most 100 characters."), "error")
        return redirect(url_for("ip.saved_searches"))
    now = utcnow()
    items = saved.saved_searches_of(db.session, current_user)
    counts = saved.new_counts(db.session, get_backend(), current_user, now) if items else {}
    return render_template("ip/saved.html", items=items, counts=counts)


@ip_bp.route("/patents/saved/<int:saved_id>")
@roles_required(Role.BANK)
def open_saved_search(saved_id: int):
    try:
        args = saved.open_saved_search(db.session, current_user, saved_id, utcnow())
        db.session.commit()
    except DomainError as exc:
        flash(exc.localized(), "error")
        return redirect(url_for("ip.saved_searches"))
    return redirect(url_for("ip.search", **args))


@ip_bp.route("/patents/saved/<int:saved_id>/delete", methods=["POST"])
@roles_required(Role.BANK)
def delete_saved_search(saved_id: int):
    try:
        saved.delete_saved_search(db.session, current_user, saved_id)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.localized(), "error")
    else:
        flash(_("The saved search was deleted."), "success")
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
