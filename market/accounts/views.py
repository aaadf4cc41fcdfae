"""Sign-up, log-in, log-out, password change and the organisation profile."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from market.accounts import service
from market.accounts.forms import EmptyForm, LoginForm, OrgForm, PasswordForm, SignupForm
from market.accounts.models import Role, User
from market.db import db, utcnow
from market.errors import DomainError
from market.extensions import limiter, login_manager
from market.reference.choices import district_choices, industry_choices
from market.security import safe_next
from market.work import commit_or_flash

auth_bp = Blueprint("auth", __name__)
orgs_bp = Blueprint("orgs", __name__, url_prefix="/organisation")


# The logged-in user, in one query per request: the session's user id and session version must still match an
# active account (a bumped version or a deactivated account ends the session at the next request), and the
# organisation comes in the same query (most pages read it: `can_act`, the workspace, a bidder's nav). Built once.
LOGGED_IN_USER = (select(User).options(joinedload(User.organisation))
                  .where(User.id == bindparam("id"), User.session_version == bindparam("version"), User.active))


@login_manager.user_loader
def load_user(token: str) -> User | None:
    user_id, _sep, version = token.partition(":")
    if not (user_id.isdigit() and version.isdigit()) or len(user_id) > 10 or len(version) > 10:
        return None
    return db.session.scalar(LOGGED_IN_USER, {"id": int(user_id), "version": int(version)})


def _fill_org_choices(form) -> None:
    form.district_code.choices = district_choices(db.session)
    form.industry_code.choices = industry_choices(db.session)


def _org_details(form) -> service.OrgDetails:
    return service.OrgDetails(
        name=form.org_name.data or "",
        credit_code=form.credit_code.data,
        district_code=form.district_code.data or None,
        industry_code=form.industry_code.data or None,
        contact_name=form.contact_name.data,
        contact_phone=form.contact_phone.data,
        contact_email=getattr(form, "contact_email", None) and form.contact_email.data,
        address=form.address.data,
    )


@auth_bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"],
               key_func=lambda: f"signup:{request.remote_addr}")
def signup():
    """Without e-mail delivery the answer cannot depend on whether the address is registered: a new account and an
    address that already has one both end on the log-in page with the same message (no automatic log-in)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.workspace"))
    form = SignupForm()
    _fill_org_choices(form)
    if form.validate_on_submit():
        role = Role(form.role.data)
        org = _org_details(form) if (form.org_name.data or "").strip() else None
        from market.i18n import select_locale

        ok, _user = commit_or_flash(lambda: service.register(
            db.session, email=form.email.data, password=form.password.data, name=form.name.data,
            role=role, org=org, now=utcnow(), locale=select_locale(),
        ), _("Sign-up received. Log in with your e-mail and password; a new organisation then waits for "
             "verification by the exchange."))
        if ok:
            return redirect(url_for("auth.login"))
    return render_template("auth/signup.html", form=form)


def _login_limit_key() -> str:
    return f"login:{request.remote_addr}"


@auth_bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=_login_limit_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.workspace"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            now = utcnow()
            user = service.authenticate(db.session, form.email.data, form.password.data, now)
            if session.pop("locale_picked", False) and session.get("locale") in current_app.config["LANGUAGES"]:
                # The language the visitor picked before logging in wins over the one saved earlier.
                service.set_locale(db.session, user, session["locale"], now)
            db.session.commit()
        except service.WrongCredentials as exc:
            db.session.rollback()
            service.note_login_failure(db.session, form.email.data, now)
            db.session.commit()
            flash(exc.localized(), "error")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.localized(), "error")
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.workspace"))
    return render_template("auth/login.html", form=form)


@auth_bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if EmptyForm().validate_on_submit():
        service.log_out(db.session, current_user, utcnow())
        db.session.commit()
        logout_user()
        flash(_("You have logged out."), "info")
    return redirect(url_for("main.home"))


@auth_bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        ok, _none = commit_or_flash(
            lambda: service.change_password(db.session, current_user, form.current.data, form.new.data, utcnow()),
            _("Your password was changed. Other sessions were logged out and your API tokens revoked."))
        if ok:
            login_user(current_user._get_current_object())  # the session id carries the new session version
            return redirect(url_for("main.workspace"))
    return render_template("auth/password.html", form=form)


@orgs_bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    org = current_user.organisation
    if org is None:
        return render_template("orgs/none.html")
    form = OrgForm(obj=org)
    _fill_org_choices(form)
    if request.method == "GET":
        form.org_name.data = org.name
    if form.validate_on_submit():
        ok, _org = commit_or_flash(
            lambda: service.update_organisation(db.session, current_user, _org_details(form), utcnow()), _("Saved."))
        if ok:
            return redirect(url_for("orgs.profile"))
    return render_template("orgs/profile.html", org=org, form=form)
