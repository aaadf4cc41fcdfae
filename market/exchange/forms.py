"""Forms of the exchange: deposit and bid (auction page), listing terms, staff review, objections, re-auction."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice as C
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from market.bounded import AMOUNT, SHARE
from market.db import MAX_ID
from market.formkit import DecimalInput

FORMAT = "%Y-%m-%dT%H:%M"


class DepositForm(FlaskForm):
    """Paying the deposit accepts the lot's announcement and bidder terms (the version shown on the page)."""

    accept = BooleanField(_l("I have read and accept the auction announcement and the bidder terms"),
                          validators=[DataRequired()])
    terms_version = HiddenField()


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
    # Beijing time like every other form (the views convert with flask_babel.to_utc / to_user_timezone)
    notice_starts_at = DateTimeLocalField(_l("Announcement starts (Beijing time)"), format=FORMAT,
                                          validators=[DataRequired()])
    bidding_starts_at = DateTimeLocalField(_l("Bidding starts (Beijing time)"), format=FORMAT,
                                           validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Bidding ends (Beijing time)"), format=FORMAT, validators=[DataRequired()])


class ListingForm(TermsForm):
    asset_id = IntegerField(_l("Asset number"), validators=[DataRequired(), NumberRange(min=1, max=MAX_ID)])
    kind = SelectField(_l("Type"), choices=[C("auction", _l("Auction of the right")),
                                            C("licence", _l("Auction of a licence"))])
    valuation = _money(_l("Valuation (yuan)"))
    title = StringField(_l("Title"), validators=[Optional(), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    licence_exclusive = SelectField(_l("Licence: exclusive?"), choices=[
        C("", _l("— (not a licence)")), C("yes", _l("Exclusive licence")), C("no", _l("Non-exclusive licence"))],
        validators=[Optional()])
    licence_territory = StringField(_l("Licence: territory"), validators=[Optional(), Length(max=200)])
    licence_term_months = IntegerField(_l("Licence: term (months)"), validators=[Optional(), NumberRange(1, 600)])
    licence_royalty = DecimalInput(_l("Licence: royalty (% of net sales)"), bound=SHARE, percent=True)

    def licence(self) -> dict | None:
        """The licence terms as the service takes them (royalty as a fraction), or None when none were given."""
        if not (self.licence_exclusive.data or self.licence_territory.data or self.licence_term_months.data):
            return None
        royalty = self.licence_royalty.data
        return {"exclusive": {"yes": True, "no": False}.get(self.licence_exclusive.data),
                "territory": self.licence_territory.data, "term_months": self.licence_term_months.data,
                "royalty": royalty}


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


class HolderForm(FlaskForm):
    name = StringField(_l("Holder's name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Right"), choices=[C("co_owner", _l("Co-owner")),
                                             C("exclusive_licensee", _l("Exclusive licensee"))])
    user_id = IntegerField(_l("Bidder account number (if they will bid)"), validators=[Optional(), NumberRange(1)])


class HolderNoticeForm(FlaskForm):
    told_at = DateTimeLocalField(_l("Told at (Beijing time)"), format=FORMAT, validators=[DataRequired()])
    method = SelectField(_l("How"), choices=[C("letter", _l("Letter")), C("email", _l("E-mail")),
                                             C("phone", _l("Telephone")), C("in_person", _l("In person")),
                                             C("platform", _l("Notice on this market"))])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class NoteForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class ObjectionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the objection"), validators=[DataRequired(), Length(min=5, max=4000)])


class ResolveForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[C("dismiss", _l("Dismiss")),
                                                    C("uphold", _l("Uphold: cancel the lot"))])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
