"""The form that creates an API token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from market.formkit import choices


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=60)],
                       description=_l("Which system uses it, e.g. the loan system of the head office."))
    scopes = CheckboxesField(_l("Scopes"), validators=[DataRequired(message=_l("Choose at least one scope."))],
                             default=["read"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scopes.choices = choices([("read", _l("read: look up patents, needs, loans, auctions")),
                                       ("write", _l("write: make offers, record loans and repayments, bid"))])
