"""Staff page of the fund's third and fourth uses: grant intermediary rewards and enterprise interest subsidies."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from market.accounts.models import Role
from market.db import MAX_ID, db, utcnow
from market.formkit import choices
from market.loans.fund import fund_balance, waiting_grants
from market.loans.grants import all_grants, grant_interest_subsidy, grant_intermediary_rewards
from market.loans.models import GrantKind
from market.policy.rules import ZERO
from market.security import roles_required
from market.work import commit_or_flash

grants_bp = Blueprint("fund_grants", __name__)


class GrantForm(FlaskForm):
    loan_id = IntegerField(_l("Loan number"), validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    kind = SelectField(_l("What to grant"), choices=choices([
        (GrantKind.INTERMEDIARY_REWARD.value, _l("Intermediary rewards (guarantor and insurer)")),
        (GrantKind.INTEREST_SUBSIDY.value, _l("Enterprise interest subsidy")),
    ]))
    submit = SubmitField(_l("Grant"))


@grants_bp.route("/loans/fund/grants", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def grants():
    """Rewards and interest subsidies: staff grant them per loan; the fund pays them after every waiting claim."""
    form = GrantForm()
    if form.validate_on_submit():
        loan_id, now = form.loan_id.data, utcnow()
        if form.kind.data == GrantKind.INTERMEDIARY_REWARD.value:
            ok, _result = commit_or_flash(lambda: grant_intermediary_rewards(db.session, current_user, loan_id, now),
                                          _("The intermediary rewards were granted."))
        else:
            ok, _result = commit_or_flash(lambda: grant_interest_subsidy(db.session, current_user, loan_id, now),
                                          _("The interest subsidy was granted."))
        if ok:
            return redirect(url_for("fund_grants.grants"))
    now = utcnow()
    waiting = waiting_grants(db.session, now)
    return render_template("loans/grants.html", form=form, grants=all_grants(db.session), waiting=waiting,
                           waiting_amount=sum((g.amount for g in waiting), ZERO),
                           balance=fund_balance(db.session))
