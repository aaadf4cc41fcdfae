"""Forms of the exchange: deposit and bid (auction page), listing terms, staff review, objections, re-auction."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice as C
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from market.bounded import AMOUNT
from market.db import MAX_ID
from market.formkit import DecimalInput

FORMAT = "%Y-%m-%dT%H:%M"


class DepositForm(FlaskForm):
    pass


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (submit for review, fixed-price sale, record payment, end disposal)."""


class BidForm(FlaskForm):
    amount = DecimalInput(_l("Your bid (yuan)"), bound=AMOUNT, required=True)


def _money(label):
    return DecimalInput(label, bound=AMOUNT, required=True)


class TermsForm(FlaskForm):
    starting_price = _money(_l("Starting price (yuan)"))
    increment = _money(_l("Increment (yuan)"))
    deposit_amount = _money(_l("Deposit (yuan)"))
    notice_starts_at = DateTimeLocalField(_l("Announcement starts (UTC)"), format=FORMAT, validators=[DataRequired()])
    bidding_starts_at = DateTimeLocalField(_l("Bidding starts (UTC)"), format=FORMAT, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Bidding ends (UTC)"), format=FORMAT, validators=[DataRequired()])


class ListingForm(TermsForm):
    asset_id = IntegerField(_l("Asset number"), validators=[DataRequired(), NumberRange(min=1, max=MAX_ID)])
    kind = SelectField(_l("Type"), choices=[C("auction", _l("Auction of the right")),
                                            C("licence", _l("Auction of a licence"))])
    valuation = _money(_l("Valuation (yuan)"))
    title = StringField(_l("Title"), validators=[Optional(), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])


class ReviewForm(FlaskForm):
    terms_within_rules = BooleanField(_l("Terms within the rules (starting price ≥ 70 % of the valuation, deposit "
                                         "5–20 %, notice ≥ 30 days, bidding ≥ 24 h)"))
    asset_right_valid = BooleanField(_l("The right is in force and the data match the register"))
    parties_notified = BooleanField(_l("The parties were told at least 3 days before the announcement"))
    preemption_holders_notified = BooleanField(_l("Known pre-emption holders were told"))
    due_diligence_reviewed = BooleanField(_l("The due-diligence pack was reviewed"))
    no_freeze_or_dispute = BooleanField(_l("No freeze or dispute on the asset"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    decision = SelectField(_l("Decision"), choices=[C("approve", _l("Approve and announce")),
                                                    C("return", _l("Return to the author"))])


class NoteForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class ObjectionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the objection"), validators=[DataRequired(), Length(min=5, max=4000)])


class ResolveForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[C("dismiss", _l("Dismiss")),
                                                    C("uphold", _l("Uphold: cancel the lot"))])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
