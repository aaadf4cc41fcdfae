"""Forms of the loans area (Flask-WTF, CSRF on). Amounts are DecimalField (never float)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from market.formkit import choices

METHODS = choices([("equal_principal", _l("Equal principal")),
                   ("bullet", _l("Interest monthly, principal at maturity"))])


class PlanForm(FlaskForm):
    loan_amount = DecimalField(_l("Loan amount (yuan)"), places=2, validators=[InputRequired(), NumberRange(min=1)])
    annual_rate = DecimalField(_l("Annual rate (fraction, e.g. 0.0525)"), places=6,
                               validators=[InputRequired(), NumberRange(min=0)])
    benchmark_rate = DecimalField(_l("Benchmark rate (fraction, e.g. 0.0435)"), places=6, validators=[Optional()])
    term_months = IntegerField(_l("Term (months)"), validators=[InputRequired(), NumberRange(min=1, max=360)])
    guarantee_coverage = DecimalField(_l("Guarantee coverage (fraction)"), places=4, default=0,
                                      validators=[Optional(), NumberRange(min=0, max=1)])
    guarantee_premium = DecimalField(_l("Guarantee premium (yuan)"), places=2, default=0,
                                     validators=[Optional(), NumberRange(min=0)])
    insurance_coverage = DecimalField(_l("Insurance coverage (fraction)"), places=4, default=0,
                                      validators=[Optional(), NumberRange(min=0, max=1)])
    insurance_premium = DecimalField(_l("Insurance premium (yuan)"), places=2, default=0,
                                     validators=[Optional(), NumberRange(min=0)])
    signed_on = DateField(_l("Signing date (the policy in force on it applies; default today)"),
                          validators=[Optional()])
    submit = SubmitField(_l("Evaluate"))


class LoanForm(FlaskForm):
    enterprise_org_id = SelectField(_l("Enterprise"), coerce=int, validators=[DataRequired()])
    asset_ids = StringField(_l("Pledged IP asset ids (comma separated)"), validators=[DataRequired(), Length(max=500)])
    principal = DecimalField(_l("Principal (yuan)"), places=2, validators=[InputRequired(), NumberRange(min=1)])
    annual_rate = DecimalField(_l("Annual rate (fraction, e.g. 0.0525)"), places=6,
                               validators=[InputRequired(), NumberRange(min=0)])
    term_months = IntegerField(_l("Term (months)"), validators=[InputRequired(), NumberRange(min=1, max=360)])
    repayment_method = SelectField(_l("Repayment"), choices=METHODS)
    signed_on = DateField(_l("Signed on"), validators=[InputRequired()])
    registration_number = StringField(_l("Pledge registration number"), validators=[DataRequired(), Length(max=60)])
    guarantor_org_id = SelectField(_l("Guarantor"), coerce=int, validators=[Optional()])
    guarantee_coverage = DecimalField(_l("Guarantee coverage (fraction)"), places=4, default=0,
                                      validators=[Optional(), NumberRange(min=0, max=1)])
    guarantee_premium = DecimalField(_l("Guarantee premium (yuan)"), places=2, default=0,
                                     validators=[Optional(), NumberRange(min=0)])
    insurer_org_id = SelectField(_l("Insurer"), coerce=int, validators=[Optional()])
    insurance_coverage = DecimalField(_l("Insurance coverage (fraction)"), places=4, default=0,
                                      validators=[Optional(), NumberRange(min=0, max=1)])
    insurance_premium = DecimalField(_l("Insurance premium (yuan)"), places=2, default=0,
                                     validators=[Optional(), NumberRange(min=0)])
    collateral_text = TextAreaField(_l("Tangible collateral"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record the loan"))


class SignOfferForm(FlaskForm):
    """Signing the loan of an accepted offer: amount, rate, term and assets come from the offer and the need."""

    signed_on = DateField(_l("Signed on"), validators=[InputRequired()])
    registration_number = StringField(_l("Pledge registration number"), validators=[DataRequired(), Length(max=60)])
    registered_on = DateField(_l("Pledge registered on"), validators=[InputRequired()])
    repayment_method = SelectField(_l("Repayment"), choices=METHODS)
    guarantor_org_id = SelectField(_l("Guarantor"), coerce=int, validators=[Optional()])
    guarantee_coverage = DecimalField(_l("Guarantee coverage (fraction)"), places=4, default=0,
                                      validators=[Optional(), NumberRange(min=0, max=1)])
    guarantee_premium = DecimalField(_l("Guarantee premium (yuan)"), places=2, default=0,
                                     validators=[Optional(), NumberRange(min=0)])
    insurer_org_id = SelectField(_l("Insurer"), coerce=int, validators=[Optional()])
    insurance_coverage = DecimalField(_l("Insurance coverage (fraction)"), places=4, default=0,
                                      validators=[Optional(), NumberRange(min=0, max=1)])
    insurance_premium = DecimalField(_l("Insurance premium (yuan)"), places=2, default=0,
                                     validators=[Optional(), NumberRange(min=0)])
    collateral_text = TextAreaField(_l("Tangible collateral"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Sign the loan"))


class RepaymentForm(FlaskForm):
    paid_on = DateField(_l("Paid on"), validators=[InputRequired()])
    principal = DecimalField(_l("Principal (yuan)"), places=2, default=0, validators=[Optional(), NumberRange(min=0)])
    interest = DecimalField(_l("Interest (yuan)"), places=2, default=0, validators=[Optional(), NumberRange(min=0)])
    submit = SubmitField(_l("Record repayment"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))


class RecoveryForm(FlaskForm):
    recovery = DecimalField(_l("Recovery from disposal (yuan)"), places=2,
                            validators=[InputRequired(), NumberRange(min=0)])
    submit = SubmitField(_l("Assemble the claim"))


class ContributionForm(FlaskForm):
    amount = DecimalField(_l("Amount (yuan)"), places=2, validators=[InputRequired(), NumberRange(min=Decimal("0.01"))])
    memo = StringField(_l("Memo"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Top up the fund"))


class RateForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices([("pbc_benchmark_1y", _l("PBoC 1-year benchmark")),
                                                    ("lpr_1y", _l("1-year LPR"))]))
    effective_on = DateField(_l("Effective on"), validators=[InputRequired()])
    rate = DecimalField(_l("Rate (fraction, e.g. 0.0435)"), places=6, validators=[InputRequired()])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Add rate"))


class PolicyForm(FlaskForm):
    name = StringField(_l("Name of the version"), validators=[DataRequired(), Length(max=200)])
    effective_from = DateField(_l("Takes effect on"), validators=[InputRequired()])
    eligible_kinds = SelectMultipleField(_l("Eligible IP kinds"), validators=[DataRequired()])
    rate_cap_mode = SelectField(_l("Rate cap"), choices=choices([
        ("benchmark_ratio", _l("A multiple of the PBoC benchmark rate")),
        ("lpr_spread", _l("LPR plus basis points"))]))
    rate_cap_ratio = DecimalField(_l("Multiple of the benchmark (1.5 = 150 %)"), places=4, default=Decimal("1.5"),
                                  validators=[Optional(), NumberRange(min=1, max=5)])
    rate_cap_spread_bp = IntegerField(_l("Basis points over the LPR"), validators=[Optional(),
                                                                                   NumberRange(min=0, max=2000)])
    premium_subsidy_rate = DecimalField(_l("Premium subsidy cap (fraction of the loan, 0.01 = 1 %)"), places=4,
                                        default=Decimal("0.01"), validators=[InputRequired(), NumberRange(0, 1)])
    compensation_rate = DecimalField(_l("Compensation share of the principal loss (0.30 = 30 %)"), places=4,
                                     default=Decimal("0.30"), validators=[InputRequired(), NumberRange(0, 1)])
    compensation_cap = DecimalField(_l("Compensation cap per loan (yuan)"), places=2, default=Decimal("1500000"),
                                    validators=[InputRequired(), NumberRange(min=0)])
    enterprise_risk_ceiling = DecimalField(_l("Enterprise risk ceiling (0.10 = 10 %)"), places=4,
                                           default=Decimal("0.10"), validators=[InputRequired(), NumberRange(0, 1)])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Add the version"))
