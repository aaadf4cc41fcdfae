"""Forms of the loans area (Flask-WTF, CSRF on). Amounts and rates are formkit.DecimalInput (market.bounded):
amounts in yuan, rates and shares typed in per cent (5.25 = 5.25 %), handed to the services as fractions."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from market.bounded import AMOUNT, AMOUNT_OR_ZERO, ANNUAL_RATE, RATE_CAP_RATIO, REFERENCE_RATE, SHARE
from market.formkit import DecimalInput, choices
from market.loans.labels import COLLATERAL_LABELS, MODEL_LABELS
from market.policy.labels import RATE_KIND_LABELS
from market.policy.regional import MAX_RECOMMENDATION_DAYS

METHODS = choices([("equal_principal", _l("Equal principal")),
                   ("bullet", _l("Interest monthly, principal at maturity"))])


def cover_terms(parties: bool) -> tuple:
    """The guarantee and the insurance of a loan: share of the loss covered and premium of each, with the guarantor
    and insurer to pick when `parties`. Made here in page order, since WTForms orders fields by creation."""
    fields = []
    for party, coverage, premium in (
            (_l("Guarantor"), _l("Guarantee coverage (% of the loss)"), _l("Guarantee premium (yuan)")),
            (_l("Insurer"), _l("Insurance coverage (% of the loss)"), _l("Insurance premium (yuan)"))):
        if parties:
            fields.append(SelectField(party, coerce=int, validators=[Optional()]))
        fields.append(DecimalInput(coverage, bound=SHARE, percent=True, default=0))
        fields.append(DecimalInput(premium, bound=AMOUNT_OR_ZERO, default=0))
    return tuple(fields)


# The regions' loan models (market.policy.regional) and the kinds of tangible collateral of a combined pledge.
MODELS = choices([(m.value, label) for m, label in MODEL_LABELS.items()])
COLLATERAL_KINDS = choices([(k.value, label) for k, label in COLLATERAL_LABELS.items()])


class CollateralItemForm(FlaskForm):
    """One tangible asset of a combined pledge (a row of the loan form; blank rows are skipped)."""

    class Meta:
        csrf = False

    # A blank row posts no kind: the service skips blank rows and refuses an unknown kind.
    kind = SelectField(_l("Kind of tangible asset"), choices=COLLATERAL_KINDS, validate_choice=False)
    description = StringField(_l("Description (what, where, registration)"), validators=[Optional(), Length(max=300)])
    valuation = DecimalInput(_l("Valuation (yuan)"), bound=AMOUNT)


def model_terms() -> tuple:
    """A loan's regional model and the terms each model adds: Shanghai's counter-guarantor, its security and the
    share of the guarantor's payment it repays; Jiangsu's recommending body and day; Tianjin's tangible assets."""
    return (
        SelectField(_l("Loan model"), choices=MODELS, default="chongqing"),
        SelectField(_l("Counter-guarantor (Shanghai: the enterprise itself or another organisation)"), coerce=int,
                    validators=[Optional()]),
        StringField(_l("Counter-guarantee secured with (Shanghai)"), validators=[Optional(), Length(max=300)]),
        DecimalInput(_l("Share of the guarantor's payment the counter-guarantor repays (%, Shanghai)"), bound=SHARE,
                     percent=True, default=0),
        StringField(_l("Recommended by (government body, Jiangsu)"), validators=[Optional(), Length(max=200)]),
        DateField(_l("Recommended on (Jiangsu)"), validators=[Optional()]),
        FieldList(FormField(CollateralItemForm), _l("Tangible assets bundled with the IP (Tianjin)"), min_entries=3,
                  max_entries=20),
    )


class PlanForm(FlaskForm):
    loan_amount = DecimalInput(_l("Loan amount (yuan)"), bound=AMOUNT, required=True)
    annual_rate = DecimalInput(_l("Annual rate (%, e.g. 5.25)"), bound=ANNUAL_RATE, percent=True, required=True)
    benchmark_rate = DecimalInput(_l("Benchmark rate (%, e.g. 4.35)"), bound=REFERENCE_RATE, percent=True)
    term_months = IntegerField(_l("Term (months)"), validators=[InputRequired(), NumberRange(min=1, max=360)])
    guarantee_coverage, guarantee_premium, insurance_coverage, insurance_premium = cover_terms(parties=False)
    signed_on = DateField(_l("Signing date (the policy in force on it applies; default today)"),
                          validators=[Optional()])
    loan_model = SelectField(_l("Loan model"), choices=MODELS, default="chongqing")
    counter_guarantee_share = DecimalInput(_l("Share of the guarantor's payment the counter-guarantor repays "
                                              "(%, Shanghai)"), bound=SHARE, percent=True, default=0)
    counter_by_enterprise = BooleanField(_l("The enterprise itself counter-guarantees (Shanghai)"))
    recommended_on = DateField(_l("Recommended on (Jiangsu; default the signing date)"), validators=[Optional()])
    collateral_value = DecimalInput(_l("Valuation of the tangible collateral (yuan, Tianjin)"), bound=AMOUNT_OR_ZERO,
                                    default=0)
    submit = SubmitField(_l("Evaluate"))


class LoanForm(FlaskForm):
    enterprise_org_id = SelectField(_l("Enterprise"), coerce=int, validators=[DataRequired()])
    asset_ids = StringField(_l("Pledged IP asset ids (comma separated)"), validators=[DataRequired(), Length(max=500)])
    principal = DecimalInput(_l("Principal (yuan)"), bound=AMOUNT, required=True)
    annual_rate = DecimalInput(_l("Annual rate (%, e.g. 5.25)"), bound=ANNUAL_RATE, percent=True, required=True)
    term_months = IntegerField(_l("Term (months)"), validators=[InputRequired(), NumberRange(min=1, max=360)])
    repayment_method = SelectField(_l("Repayment"), choices=METHODS)
    signed_on = DateField(_l("Signed on"), validators=[InputRequired()])
    registration_number = StringField(_l("Pledge registration number"), validators=[DataRequired(), Length(max=60)])
    (guarantor_org_id, guarantee_coverage, guarantee_premium,
     insurer_org_id, insurance_coverage, insurance_premium) = cover_terms(parties=True)
    collateral_text = TextAreaField(_l("Tangible collateral"), validators=[Optional(), Length(max=2000)])
    (loan_model, counter_guarantor_org_id, counter_guarantee_security, counter_guarantee_share, recommended_by,
     recommended_on, collateral) = model_terms()
    submit = SubmitField(_l("Record the loan"))


class SignOfferForm(FlaskForm):
    """Signing the loan of an accepted offer: amount, rate, term and assets come from the offer and the need."""

    signed_on = DateField(_l("Signed on"), validators=[InputRequired()])
    registration_number = StringField(_l("Pledge registration number"), validators=[DataRequired(), Length(max=60)])
    registered_on = DateField(_l("Pledge registered on"), validators=[InputRequired()])
    repayment_method = SelectField(_l("Repayment"), choices=METHODS)
    (guarantor_org_id, guarantee_coverage, guarantee_premium,
     insurer_org_id, insurance_coverage, insurance_premium) = cover_terms(parties=True)
    collateral_text = TextAreaField(_l("Tangible collateral"), validators=[Optional(), Length(max=2000)])
    (loan_model, counter_guarantor_org_id, counter_guarantee_security, counter_guarantee_share, recommended_by,
     recommended_on, collateral) = model_terms()
    submit = SubmitField(_l("Sign the loan"))


class RepaymentForm(FlaskForm):
    paid_on = DateField(_l("Paid on"), validators=[InputRequired()])
    principal = DecimalInput(_l("Principal (yuan)"), bound=AMOUNT_OR_ZERO, default=0)
    interest = DecimalInput(_l("Interest (yuan)"), bound=AMOUNT_OR_ZERO, default=0)
    submit = SubmitField(_l("Record repayment"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))


class RecoveryForm(FlaskForm):
    recovery = DecimalInput(_l("Recovery from disposal (yuan)"), bound=AMOUNT_OR_ZERO, required=True)
    evidence = TextAreaField(_l("Evidence of the recovery (court ruling, settlement, bank statement; staff verify "
                                "it before approving)"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Assemble the claim"))


class ReasonForm(FlaskForm):
    """A decision that needs a stated reason and an explicit confirmation (default, claim rejection)."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    confirmed = BooleanField(_l("I have checked the facts shown above"), validators=[DataRequired()])
    submit = SubmitField(_l("Confirm"))


class ConsentForm(FlaskForm):
    """The enterprise confirms a loan its bank recorded, after reading its terms and the assets to pledge."""

    agree = BooleanField(_l("I agree to this loan and to pledging the assets listed above"),
                         validators=[DataRequired()])
    submit = SubmitField(_l("Confirm the loan and the pledge"))


class ContributionForm(FlaskForm):
    amount = DecimalInput(_l("Contribution to the fund (yuan)"), bound=AMOUNT, required=True)
    memo = StringField(_l("Source of the contribution"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Record the contribution"))


class RateForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices(list(RATE_KIND_LABELS.items())))
    effective_on = DateField(_l("Effective on"), validators=[InputRequired()])
    rate = DecimalInput(_l("Rate (%, e.g. 4.35)"), bound=REFERENCE_RATE, percent=True, required=True)
    source = StringField(_l("Source"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Add rate"))


class PolicyForm(FlaskForm):
    name = StringField(_l("Name of the version"), validators=[DataRequired(), Length(max=200)])
    effective_from = DateField(_l("Takes effect on"), validators=[InputRequired()])
    eligible_kinds = SelectMultipleField(_l("Eligible IP kinds"), validators=[DataRequired()])
    rate_cap_mode = SelectField(_l("Rate cap"), choices=choices([
        ("benchmark_ratio", _l("A multiple of the PBoC benchmark rate")),
        ("lpr_spread", _l("LPR plus basis points"))]))
    rate_cap_ratio = DecimalInput(_l("Multiple of the benchmark (1.5 = 150 %)"), bound=RATE_CAP_RATIO,
                                  default=Decimal("1.5"))
    rate_cap_spread_bp = IntegerField(_l("Basis points over the LPR"), validators=[Optional(),
                                                                                   NumberRange(min=0, max=2000)])
    premium_subsidy_rate = DecimalInput(_l("Premium subsidy cap (% of the loan, e.g. 1)"), bound=SHARE, percent=True,
                                        default=Decimal("0.01"), required=True)
    compensation_rate = DecimalInput(_l("Compensation share of the principal loss (%, e.g. 30)"), bound=SHARE,
                                     percent=True, default=Decimal("0.30"), required=True)
    compensation_cap = DecimalInput(_l("Compensation cap per loan (yuan)"), bound=AMOUNT_OR_ZERO,
                                    default=Decimal("1500000"), required=True)
    enterprise_risk_ceiling = DecimalInput(_l("Enterprise risk ceiling (%, e.g. 10)"), bound=SHARE, percent=True,
                                           default=Decimal("0.10"), required=True)
    default_grace_days = IntegerField(_l("Days an instalment may be overdue before the bank may declare default"),
                                      default=90, validators=[Optional(), NumberRange(min=0, max=365)])
    # The third and fourth in the fund's order of spending, and Jiangsu's recommendation validity: blank keeps the
    # value of the version in force (the page fills them in with it).
    intermediary_reward_rate = DecimalInput(_l("Intermediary reward (% of the principal, e.g. 0.2)"), bound=SHARE,
                                            percent=True)
    intermediary_reward_cap = DecimalInput(_l("Intermediary reward cap per intermediary and loan (yuan)"),
                                           bound=AMOUNT_OR_ZERO)
    interest_subsidy_rate = DecimalInput(_l("Enterprise interest subsidy (% of the interest paid, e.g. 30)"),
                                         bound=SHARE, percent=True)
    interest_subsidy_cap = DecimalInput(_l("Enterprise interest subsidy cap per loan (yuan)"), bound=AMOUNT_OR_ZERO)
    recommendation_valid_days = IntegerField(_l("Days a government recommendation stays valid for relationship "
                                                "lending (Jiangsu)"),
                                             validators=[Optional(), NumberRange(min=0, max=MAX_RECOMMENDATION_DAYS)])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Add the version"))
