"""Pages of the expert pool and consultations: the pool, a valuer's own profile, an enterprise's "ask an expert",
the consultation list and one consultation (answer, close)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from market.accounts.forms import EmptyForm
from market.accounts.models import Role
from market.db import db, utcnow
from market.ip.models import IpAsset
from market.needs.models import Need
from market.security import roles_required
from market.valuations import experts
from market.valuations.forms import AnswerForm, ConsultationForm, ExpertProfileForm
from market.valuations.models import ValueType
from market.work import commit_or_flash

experts_bp = Blueprint("experts", __name__, url_prefix="/experts")
consultations_bp = Blueprint("consultations", __name__, url_prefix="/consultations")


@experts_bp.route("/", endpoint="index")
@login_required
def expert_pool():
    return render_template("valuations/experts.html", experts=experts.list_experts(db.session))


@experts_bp.route("/profile", methods=["GET", "POST"])
@roles_required(Role.VALUER)
def profile():
    own = experts.own_profile(db.session, current_user)
    form = ExpertProfileForm()
    if request.method == "GET" and own is not None:
        form.title.data, form.bio.data, form.active.data = own.title, own.bio, own.active
        form.specialities.data = ", ".join(own.symbols)
    if form.validate_on_submit():
        ok, _profile = commit_or_flash(lambda: experts.save_expert_profile(
            db.session, current_user, title=form.title.data, bio=form.bio.data, specialities=form.specialities.data,
            active=form.active.data, now=utcnow()), _("Your expert profile was saved."))
        if ok:
            return redirect(url_for("experts.index"))
    return render_template("valuations/profile.html", form=form)


def _subjects() -> list[tuple[str, str]]:
    org_id = current_user.organisation_id
    needs = db.session.scalars(select(Need).where(Need.org_id == org_id).order_by(Need.id.desc())).all()
    assets = db.session.scalars(select(IpAsset).where(IpAsset.owner_org_id == org_id).order_by(IpAsset.id)
                                .limit(500)).all()
    return ([(f"need:{n.id}", _("Need: %(title)s", title=n.title)) for n in needs]
            + [(f"asset:{a.id}", _("Asset: %(title)s", title=a.title[:60])) for a in assets])


@consultations_bp.route("/", endpoint="index")
@roles_required(Role.ENTERPRISE, Role.VALUER, Role.STAFF)
def consultation_list():
    return render_template("valuations/consultations.html",
                           consultations=experts.consultations_for(db.session, current_user))


@consultations_bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def new():
    form = ConsultationForm()
    form.subject.choices = _subjects()
    pool = experts.list_experts(db.session)
    form.expert_id.choices = [("", _("Match me with the best expert"))] + [
        (str(e.id), f"{e.user.name} · {e.user.organisation.name} · {' '.join(e.symbols)}") for e in pool]
    if request.method == "GET" and request.args.get("subject"):
        form.subject.data = request.args["subject"]
    if form.validate_on_submit():
        kind, _sep, ident = (form.subject.data or "").partition(":")
        ok, consultation = commit_or_flash(lambda: experts.request_consultation(
            db.session, current_user, question=form.question.data, now=utcnow(),
            need_id=int(ident) if kind == "need" and ident.isdigit() else None,
            asset_id=int(ident) if kind == "asset" and ident.isdigit() else None,
            expert_id=int(form.expert_id.data) if (form.expert_id.data or "").isdigit() else None))
        if ok:
            flash(_("Your question was sent to %(name)s.", name=consultation.expert.user.name), "success")
            return redirect(url_for("consultations.detail", consultation_id=consultation.id))
    return render_template("valuations/ask.html", form=form)


@consultations_bp.route("/<int:consultation_id>")
@login_required
def detail(consultation_id: int):
    consultation = experts.consultation_for(db.session, current_user, consultation_id)
    return render_template("valuations/consultation.html", c=consultation, answer_form=AnswerForm(),
                           close_form=EmptyForm(), assets=experts.subject_assets(db.session, consultation))


@consultations_bp.route("/<int:consultation_id>/answer", methods=["POST"])
@roles_required(Role.VALUER)
def answer(consultation_id: int):
    form = AnswerForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: experts.answer_consultation(
            db.session, current_user, consultation_id, answer=form.answer.data, now=utcnow(),
            suggested_amount=form.suggested_amount.data, suggested_term_months=form.suggested_term_months.data,
            suggested_value_type=ValueType(form.suggested_value_type.data) if form.suggested_value_type.data
            else None), _("Your answer was sent."))
    else:
        flash(_("Write your suggestion."), "error")
    return redirect(url_for("consultations.detail", consultation_id=consultation_id))


@consultations_bp.route("/<int:consultation_id>/close", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def close(consultation_id: int):
    if EmptyForm().validate_on_submit():
        commit_or_flash(lambda: experts.close_consultation(db.session, current_user, consultation_id, utcnow()),
                        _("The consultation was closed."))
    return redirect(url_for("consultations.detail", consultation_id=consultation_id))
