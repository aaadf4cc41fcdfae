"""The exchange staff console: verification queue and the audit-log viewer."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from market.accounts import service
from market.accounts.forms import DecisionForm
from market.accounts.models import Organisation, OrgStatus, Role
from market.audit.models import AuditEntry
from market.db import db, utcnow
from market.paging import requested_page
from market.security import roles_required
from market.work import commit_or_flash

staff_bp = Blueprint("staff", __name__, url_prefix="/staff")
AUDIT_PAGE = 50


@staff_bp.route("/")
@roles_required(Role.STAFF)
def console():
    pending = db.session.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.status == OrgStatus.PENDING)
    )
    recent = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(10)).all()
    from market.staff.panels import console_panels

    return render_template("staff/console.html", pending=pending, recent=recent, panels=console_panels(db.session))


@staff_bp.route("/organisations")
@roles_required(Role.STAFF)
def organisations():
    status = request.args.get("status", OrgStatus.PENDING.value)
    if status not in {s.value for s in OrgStatus}:
        status = OrgStatus.PENDING.value
    orgs = db.session.scalars(
        select(Organisation).where(Organisation.status == OrgStatus(status)).order_by(Organisation.created_at)
    ).all()
    return render_template("staff/organisations.html", orgs=orgs, status=status, statuses=list(OrgStatus))


@staff_bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def organisation(org_id: int):
    org = db.get_or_404(Organisation, org_id)
    form = DecisionForm()
    if form.validate_on_submit():
        ok, _decided = commit_or_flash(lambda: service.decide_organisation(
            db.session, current_user, org_id, approve=bool(form.approve.data), reason=form.reason.data, now=utcnow(),
        ), _("Decision saved."))
        if ok:
            return redirect(url_for("staff.organisations"))
    history = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "organisation", AuditEntry.entity_id == str(org_id))
        .order_by(AuditEntry.id)
    ).all()
    return render_template("staff/organisation.html", org=org, form=form, history=history)


@staff_bp.route("/audit")
@roles_required(Role.STAFF)
def audit():
    q = select(AuditEntry)
    filters = {}
    for field in ("entity_type", "entity_id", "action", "actor_label"):
        value = (request.args.get(field) or "").strip()[:100]
        if value:
            filters[field] = value
            q = q.where(getattr(AuditEntry, field) == value)
    page = requested_page()
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    entries = db.session.scalars(
        q.order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE).offset((page - 1) * AUDIT_PAGE)
    ).all()
    pages = max((total + AUDIT_PAGE - 1) // AUDIT_PAGE, 1)
    return render_template("staff/audit.html", entries=entries, filters=filters, page=page, pages=pages, total=total)
