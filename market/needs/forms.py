"""Forms of the needs area. Amounts and rates are formkit.DecimalInput (market.bounded): rates and loan-to-value
ratios are typed in per cent (6.00) and handed to the services as fractions (0.06)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from market.bounded import AMOUNT, AMOUNT_OR_ZERO, ANNUAL_RATE, LOAN_TO_VALUE
from market.db import MAX_ID
from market.formkit import DecimalInput, choices
from market.ip.models import IpKind


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NeedForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    amount = DecimalInput(_l("Amount (yuan)"), bound=AMOUNT, required=True)
    term_months = IntegerField(_l("Term (months)"), validators=[DataRequired(), NumberRange(min=1, max=120)])
    max_rate_pct = DecimalInput(_l("Highest annual rate accepted (%)"), bound=ANNUAL_RATE, percent=True,
                                required=True, description=_l("For example 6.00 for 6 % a year."))
    purpose = TextAreaField(_l("Purpose of the loan"), validators=[DataRequired(), Length(max=2000)])
    asset_ids = CheckboxesField(_l("IP assets offered as pledge"), coerce=int, validate_choice=False)
    tangible_collateral = StringField(_l("Tangible collateral (combined pledge)"),
                                      validators=[Optional(), Length(max=500)],
                                      description=_l("Optional: equipment, buildings or stock pledged together."))
    tangible_value = DecimalInput(_l("Value of the tangible collateral (yuan)"), bound=AMOUNT_OR_ZERO)
    preferred_bank_ids = CheckboxesField(_l("Preferred banks"), coerce=int, validate_choice=False)
    submit_now = BooleanField(_l("Submit for review now"))


class ReviewForm(FlaskForm):
    identity = BooleanField(_l("The enterprise and its credit code match the registry"))
    assets = BooleanField(_l("The offered assets are the enterprise's own, in force and free"))
    terms = BooleanField(_l("Amount, term and rate are plausible"))
    purpose = BooleanField(_l("The purpose is clear and lawful"))
    reason = TextAreaField(_l("Reason (required to reject)"), validators=[Optional(), Length(max=2000)])


TERM = NumberRange(min=1, max=360)
KIND_CHOICES = [(k.value, k.value) for k in IpKind]


class ProductForm(FlaskForm):
    name = StringField(_l("Product name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    min_amount = DecimalInput(_l("Smallest loan (yuan)"), bound=AMOUNT, required=True)
    max_amount = DecimalInput(_l("Largest loan (yuan)"), bound=AMOUNT, required=True)
    min_term_months = IntegerField(_l("Shortest term (months)"), validators=[DataRequired(), TERM])
    max_term_months = IntegerField(_l("Longest term (months)"), validators=[DataRequired(), TERM])
    min_rate_pct = DecimalInput(_l("Lowest annual rate (%)"), bound=ANNUAL_RATE, percent=True, required=True)
    max_rate_pct = DecimalInput(_l("Highest annual rate (%)"), bound=ANNUAL_RATE, percent=True, required=True)
    accepted_kinds = CheckboxesField(_l("Accepted IP kinds"), choices=choices(KIND_CHOICES))
    target_industries = StringField(_l("Target industries (GB/T 4754 codes, comma-separated)"),
                                    validators=[Optional(), Length(max=300)],
                                    description=_l("Empty means every industry; 39 covers all of 39xx."))
    target_groups = CheckboxesField(_l("Target Chongqing industry groups"), validate_choice=False)
    requires_guarantee = BooleanField(_l("A guarantee is required"))
    requires_insurance = BooleanField(_l("Loan guarantee insurance is required"))
    ltv_invention = DecimalInput(_l("Maximum loan-to-value, invention patents (%)"), bound=LOAN_TO_VALUE,
                                 percent=True)
    ltv_utility_model = DecimalInput(_l("Maximum loan-to-value, utility models (%)"), bound=LOAN_TO_VALUE,
                                     percent=True)
    ltv_design = DecimalInput(_l("Maximum loan-to-value, designs (%)"), bound=LOAN_TO_VALUE, percent=True)


class ClaimForm(FlaskForm):
    product_id = IntegerField(_l("Product"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    note = TextAreaField(_l("Note to the enterprise"), validators=[Optional(), Length(max=2000)])


class MeetingForm(FlaskForm):
    meeting_at = DateTimeLocalField(_l("Meeting time"), validators=[DataRequired()])


class OfferForm(FlaskForm):
    amount = DecimalInput(_l("Loan amount (yuan)"), bound=AMOUNT, required=True)
    annual_rate_pct = DecimalInput(_l("Annual rate (%)"), bound=ANNUAL_RATE, percent=True, required=True)
    term_months = IntegerField(_l("Term (months)"), validators=[DataRequired(), NumberRange(min=1, max=360)])
    product_id = IntegerField(_l("Product"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    conditions = TextAreaField(_l("Conditions"), validators=[Optional(), Length(max=2000)])


class AcceptOfferForm(FlaskForm):
    """The enterprise accepts an offer after reading it in full: accepting is its consent to the pledge."""

    agree = BooleanField(_l("I accept this offer, its conditions, and pledging the need's assets for it"),
                         validators=[DataRequired()])
