"""Forms of the valuations area."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from market.bounded import AMOUNT
from market.db import MAX_ID
from market.formkit import DecimalInput, choices
from market.valuations.labels import METHOD_LABELS, VALUE_TYPE_LABELS


def value_type_choices(blank: bool = False):
    pairs = [(k.value, label) for k, label in VALUE_TYPE_LABELS.items()]
    return choices(([("", _l("None"))] if blank else []) + pairs)


class ValuationForm(FlaskForm):
    asset_id = IntegerField(_l("Asset number"), validators=[DataRequired(), NumberRange(min=1, max=MAX_ID)],
                            description=_l("The asset's number in the market (shown on its page)."))
    value_type = SelectField(_l("Value type"), validators=[DataRequired()])
    amount = DecimalInput(_l("Value (yuan)"), bound=AMOUNT, required=True)
    valuation_date = DateField(_l("Valuation date"), validators=[DataRequired()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()],
                            description=_l("Empty: one year after the valuation date."))
    method = SelectField(_l("Method"), validators=[DataRequired()])
    signer_name = StringField(_l("Responsible signer"), validators=[DataRequired(), Length(max=60)])
    signer_qualification = StringField(_l("Signer's qualification number"),
                                       validators=[DataRequired(), Length(max=40)])
    basis = TextAreaField(_l("Basis and assumptions"), validators=[Optional(), Length(max=4000)])
    file = FileField(_l("Report file (PDF, at most 5 MB)"))
    issue_now = BooleanField(_l("Issue now"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.value_type.choices = value_type_choices()
        self.method.choices = choices([(k.value, label) for k, label in METHOD_LABELS.items()])


class FileForm(FlaskForm):
    file = FileField(_l("Report file (PDF, at most 5 MB)"))


class WithdrawForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class ConflictForm(FlaskForm):
    tied_org_id = SelectField(_l("Organisation"), coerce=int, validate_choice=False)
    asset_id = IntegerField(_l("Asset number"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    reason = StringField(_l("What the tie is"), validators=[DataRequired(), Length(max=500)])
    whole_agency = BooleanField(_l("The whole agency is tied"))


class ExpertProfileForm(FlaskForm):
    title = StringField(_l("Professional title"), validators=[Optional(), Length(max=60)])
    specialities = StringField(_l("Specialities (IPC sections, classes or subclasses)"),
                               validators=[DataRequired(), Length(max=300)],
                               description=_l("For example: H01M, B25J, G06"))
    bio = TextAreaField(_l("About you"), validators=[Optional(), Length(max=4000)])
    active = BooleanField(_l("Listed in the expert pool"), default=True)


class ConsultationForm(FlaskForm):
    subject = SelectField(_l("About"), validators=[DataRequired()], validate_choice=False)
    expert_id = SelectField(_l("Expert"), validate_choice=False)
    question = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=4000)])


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Financing-plan suggestion"), validators=[DataRequired(), Length(max=8000)])
    suggested_amount = DecimalInput(_l("Suggested loan amount (yuan)"), bound=AMOUNT)
    suggested_term_months = IntegerField(_l("Suggested term (months)"),
                                         validators=[Optional(), NumberRange(min=1, max=360)])
    suggested_value_type = SelectField(_l("Value type to use"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.suggested_value_type.choices = value_type_choices(blank=True)
