"""Pages of valuation reports: the agency's reports, a new report, one report (issue, withdraw, attach the PDF,
download it), an asset's valuation history, declared conflicts and the accuracy table. Thin: validate, one
service call, commit once."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from market.accounts.forms import EmptyForm
from market.accounts.models import Organisation, OrgKind, Role
from market.db import db, get_or_fail, utcnow
from market.errors import NotFound
from market.ip.models import IpAsset
from market.paging import page_of
from market.security import roles_required
from market.valuations import conflicts, files, service
from market.valuations.forms import ConflictForm, FileForm, ValuationForm, WithdrawForm
from market.valuations.models import ValuationMethod, ValueType
from market.work import commit_or_flash

PAGE_SIZE = 30
valuations_bp = Blueprint("valuations", __name__, url_prefix="/valuations")


def _report(form_file) -> service.ReportFile | None:
    if form_file is None or not getattr(form_file, "filename", ""):
        return None
    data = form_file.read(files.MAX_REPORT_BYTES + 1)
    return service.ReportFile(data=data, filename=form_file.filename,
                              upload_dir=current_app.config["VALUATION_UPLOAD_DIR"])


@valuations_bp.route("/")
@roles_required(Role.VALUER)
def mine():
    paged = page_of(service.count_agency_valuations(db.session, current_user), PAGE_SIZE)
    return render_template("valuations/mine.html", page=paged.page, pages=paged.pages, total=paged.total,
                           valuations=service.agency_valuations(db.session, current_user, paged.offset, paged.size))


@valuations_bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.VALUER)
def new():
    form = ValuationForm()
    if request.method == "GET":
        form.asset_id.data = request.args.get("asset_id", type=int)
        form.valuation_date.data = utcnow().date()
        form.signer_name.data = current_user.name
    if form.validate_on_submit():
        data = service.ValuationInput(
            asset_id=form.asset_id.data, value_type=ValueType(form.value_type.data), amount=form.amount.data,
            valuation_date=form.valuation_date.data, valid_until=form.valid_until.data,
            method=ValuationMethod(form.method.data), signer_name=form.signer_name.data,
            signer_qualification=form.signer_qualification.data, basis=form.basis.data)
        ok, valuation = commit_or_flash(lambda: service.create_valuation(
            db.session, current_user, data, utcnow(), issue=form.issue_now.data, report=_report(form.file.data)),
            _("The valuation report was saved."))
        if ok:
            return redirect(url_for("valuations.detail", valuation_id=valuation.id))
    found = service.search_assets(db.session, request.args.get("q", ""))
    return render_template("valuations/new.html", form=form, found=found, q=request.args.get("q", ""))


@valuations_bp.route("/<int:valuation_id>")
@login_required
def detail(valuation_id: int):
    valuation = service.valuation_for(db.session, current_user, valuation_id)
    own = current_user.role is Role.VALUER and current_user.organisation_id == valuation.agency_org_id
    return render_template("valuations/detail.html", v=valuation, own=own, today=utcnow().date(),
                           issue_form=EmptyForm(), withdraw_form=WithdrawForm(), file_form=FileForm())


@valuations_bp.route("/<int:valuation_id>/issue", methods=["POST"])
@roles_required(Role.VALUER)
def issue(valuation_id: int):
    if EmptyForm().validate_on_submit():
        commit_or_flash(lambda: service.issue_valuation(db.session, current_user, valuation_id, utcnow()),
                        _("The report was issued."))
    return redirect(url_for("valuations.detail", valuation_id=valuation_id))


@valuations_bp.route("/<int:valuation_id>/withdraw", methods=["POST"])
@roles_required(Role.VALUER)
def withdraw(valuation_id: int):
    form = WithdrawForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: service.withdraw_valuation(db.session, current_user, valuation_id, form.reason.data,
                                                           utcnow()), _("The report was withdrawn."))
    else:
        flash(_("Say why the report is withdrawn."), "error")
    return redirect(url_for("valuations.detail", valuation_id=valuation_id))


@valuations_bp.route("/<int:valuation_id>/file", methods=["POST"])
@roles_required(Role.VALUER)
def upload(valuation_id: int):
    form = FileForm()
    report = _report(form.file.data) if form.validate_on_submit() else None
    if report is None:
        flash(_("Choose a PDF file."), "error")
    else:
        commit_or_flash(lambda: service.attach_report_file(db.session, current_user, valuation_id, report, utcnow()),
                        _("The report file was attached."))
    return redirect(url_for("valuations.detail", valuation_id=valuation_id))


@valuations_bp.route("/<int:valuation_id>/file")
@login_required
def download(valuation_id: int):
    valuation = service.valuation_for(db.session, current_user, valuation_id)
    if not valuation.file_key:
        raise NotFound("This report has no file.")
    path = files.stored_path(current_app.config["VALUATION_UPLOAD_DIR"], valuation.file_key)
    if not path.exists():
        raise NotFound("This report has no file.")
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=valuation.file_name or f"valuation-{valuation.id}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@valuations_bp.route("/assets/<int:asset_id>")
@login_required
def asset_history(asset_id: int):
    asset = get_or_fail(db.session, IpAsset, asset_id, "This asset does not exist.")
    valuations = service.visible_valuations(db.session, current_user, asset_id)
    today = utcnow().date()
    current = service.latest_valuation(db.session, asset_id, today)
    if current is not None and not service.can_view(current_user, current):
        current = None
    return render_template("valuations/asset.html", asset=asset, valuations=valuations, current=current,
                           today=today)


@valuations_bp.route("/conflicts", methods=["GET", "POST"])
@roles_required(Role.VALUER)
def conflicts_page():
    form = ConflictForm()
    orgs = db.session.scalars(select(Organisation).where(Organisation.kind.in_([OrgKind.ENTERPRISE, OrgKind.BANK]))
                              .order_by(Organisation.kind, Organisation.name)).all()
    form.tied_org_id.choices = [(0, "—")] + [(o.id, o.name) for o in orgs]
    if form.validate_on_submit():
        ok, _declaration = commit_or_flash(lambda: conflicts.declare_conflict(
            db.session, current_user, tied_org_id=form.tied_org_id.data or None, asset_id=form.asset_id.data or None,
            reason=form.reason.data, whole_agency=form.whole_agency.data, now=utcnow()),
            _("The tie was recorded. You will not be able to value the assets concerned."))
        if ok:
            return redirect(url_for("valuations.conflicts_page"))
    return render_template("valuations/conflicts.html", form=form,
                           declarations=conflicts.declarations_of(db.session, current_user))


@valuations_bp.route("/accuracy")
@roles_required(Role.STAFF, Role.VALUER, Role.BANK)
def accuracy():
    return render_template("valuations/accuracy.html", rows=service.valuer_accuracy(db.session))

