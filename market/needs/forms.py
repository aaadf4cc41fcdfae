"""Forms of the needs area. Rates are typed as percentages (6.00) and stored as fractions (0.06)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from market.formkit import choices
from market.ip.models import IpKind


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def percent_to_fraction(value: Decimal | None) -> Decimal | None:
    return None if value is None else (value / Decimal(100)).quantize(Decimal("0.000001"))


class NeedForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    amount = DecimalField(_l("Amount (yuan)"), places=2, validators=[DataRequired(), NumberRange(min=1)])
    term_months = IntegerField(_l("Term (months)"), validators=[DataRequired(), NumberRange(min=1, max=120)])
    max_rate_pct = DecimalField(_l("Highest annual rate accepted (%)"), places=2,
                                validators=[DataRequired(), NumberRange(min=0.01, max=99)],
                                description=_l("For example 6.00 for 6 % a year."))
    purpose = TextAreaField(_l("Purpose of the loan"), validators=[DataRequired(), Length(max=2000)])
    asset_ids = CheckboxesField(_l("IP assets offered as pledge"), coerce=int, validate_choice=False)
    tangible_collateral = StringField(_l("Tangible collateral (combined pledge)"),
                                      validators=[Optional(), Length(max=500)],
                                      description=_l("Optional: equipment, buildings or stock pledged together."))
    tangible_value = DecimalField(_l("Value of the tangible collateral (yuan)"), places=2,
                                  validators=[Optional(), NumberRange(min=0)])
    preferred_bank_ids = CheckboxesField(_l("Preferred banks"), coerce=int, validate_choice=False)
    submit_now = BooleanField(_l("Submit for review now"))


class ReviewForm(FlaskForm):
    identity = BooleanField(_l("The enterprise and its credit code match the registry"))
    assets = BooleanField(_l("The offered assets are the enterprise's own, in force and free"))
    terms = BooleanField(_l("Amount, term and rate are plausible"))
    purpose = BooleanField(_l("The purpose is clear and lawful"))
    reason = TextAreaField(_l("Reason (required to reject)"), validators=[Optional(), Length(max=2000)])


KIND_CHOICES = [(k.value, k.value) for k in IpKind]


class ProductForm(FlaskForm):
    name = StringField(_l("Product name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    min_amount = DecimalField(_l("Smallest loan (yuan)"), places=2, validators=[DataRequired()])
    max_amount = DecimalField(_l("Largest loan (yuan)"), places=2, validators=[DataRequired()])
    min_term_months = IntegerField(_l("Shortest term (months)"), validators=[DataRequired()])
    max_term_months = IntegerField(_l("Longest term (months)"), validators=[DataRequired()])
    min_rate_pct = DecimalField(_l("Lowest annual rate (%)"), places=2, validators=[DataRequired()])
    max_rate_pct = DecimalField(_l("Highest annual rate (%)"), places=2, validators=[DataRequired()])
    accepted_kinds = CheckboxesField(_l("Accepted IP kinds"), choices=choices(KIND_CHOICES))
    target_industries = StringField(_l("Target industries (GB/T 4754 codes, comma-separated)"),
                                    validators=[Optional(), Length(max=300)],
                                    description=_l("Empty means every industry; 39 covers all of 39xx."))
    target_groups = CheckboxesField(_l("Target Chongqing industry groups"), validate_choice=False)
    requires_guarantee = BooleanField(_l("A guarantee is required"))
    requires_insurance = BooleanField(_l("Loan guarantee insurance is required"))
    ltv_invention = DecimalField(_l("Maximum loan-to-value, invention patents (%)"), places=2,
                                 validators=[Optional(), NumberRange(min=1, max=100)])
    ltv_utility_model = DecimalField(_l("Maximum loan-to-value, utility models (%)"), places=2,
                                     validators=[Optional(), NumberRange(min=1, max=100)])
    ltv_design = DecimalField(_l("Maximum loan-to-value, designs (%)"), places=2,
                              validators=[Optional(), NumberRange(min=1, max=100)])


class ClaimForm(FlaskForm):
    product_id = IntegerField(_l("Product"), validators=[Optional()])
    note = TextAreaField(_l("Note to the enterprise"), validators=[Optional(), Length(max=2000)])


class MeetingForm(FlaskForm):
    meeting_at = DateTimeLocalField(_l("Meeting time"), validators=[DataRequired()])


class OfferForm(FlaskForm):
    amount = DecimalField(_l("Loan amount (yuan)"), places=2, validators=[DataRequired(), NumberRange(min=1)])
    annual_rate_pct = DecimalField(_l("Annual rate (%)"), places=2,
                                   validators=[DataRequired(), NumberRange(min=0.01, max=99)])
    term_months = IntegerField(_l("Term (months)"), validators=[DataRequired(), NumberRange(min=1, max=360)])
    product_id = IntegerField(_l("Product"), validators=[Optional()])
    conditions = TextAreaField(_l("Conditions"), validators=[Optional(), Length(max=2000)])
