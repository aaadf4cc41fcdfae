"""Forms of the auction page: pay the deposit (a button) and place a bid."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField
from wtforms.validators import DataRequired, NumberRange


class DepositForm(FlaskForm):
    pass


class BidForm(FlaskForm):
    amount = DecimalField(_l("Your bid (yuan)"), places=2, validators=[DataRequired(), NumberRange(min=0.01)])
