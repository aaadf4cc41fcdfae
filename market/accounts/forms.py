"""Sign-up, log-in, password and organisation forms (Flask-WTF, CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from market.formkit import choices

SIGNUP_ROLES = choices([
    ("enterprise", _l("Enterprise seeking financing")),
    ("bank", _l("Bank or financial institution")),
    ("bidder", _l("Bidder (person or company)")),
    ("valuer", _l("Valuation agency or expert")),
    ("guarantor", _l("Guarantor")),
    ("insurer", _l("Insurer")),
])


class OrgFieldsMixin:
    org_name = StringField(_l("Organisation name"), validators=[Optional(), Length(max=120)])
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[Optional(), Length(min=18, max=18, message=_l("The credit code has exactly 18 characters."))],
        description=_l("18 characters, e.g. 91500000MA5U000010"),
    )
    district_code = SelectField(_l("District (Chongqing)"), validators=[Optional()], validate_choice=True)
    industry_code = SelectField(_l("Industry (GB/T 4754-2017)"), validators=[Optional()], validate_choice=True)
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=60)])
    contact_phone = StringField(
        _l("Contact phone"),
        validators=[
            Optional(), Length(max=30), Regexp(r"^[0-9+\-() ]*$", message=_l("Digits, spaces and + - ( ) only."))
        ],
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])


class SignupForm(OrgFieldsMixin, FlaskForm):
    role = SelectField(_l("I am"), choices=SIGNUP_ROLES, validators=[DataRequired()])
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=60)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=128)],
        description=_l("At least 10 characters, with letters and digits."),
    )
    confirm = PasswordField(
        _l("Repeat password"), validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))]
    )
    submit = SubmitField(_l("Sign up"))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    submit = SubmitField(_l("Log in"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)])
    confirm = PasswordField(
        _l("Repeat new password"), validators=[DataRequired(), EqualTo("new", message=_l("The passwords differ."))]
    )
    submit = SubmitField(_l("Change password"))


class OrgForm(OrgFieldsMixin, FlaskForm):
    contact_email = EmailField(_l("Contact e-mail"), validators=[Optional(), Email(), Length(max=254)])
    submit = SubmitField(_l("Save"))


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (required for a rejection)"), validators=[Optional(), Length(max=500)])
    approve = SubmitField(_l("Verify"))
    reject = SubmitField(_l("Reject"))


class EmptyForm(FlaskForm):
    """A POST button with CSRF protection and nothing else."""

    submit = SubmitField(_l("Submit"))
