"""Small helpers for WTForms shared by every area's forms."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from wtforms import Field, SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError
from wtforms.widgets import NumberInput

from market.bounded import Bound, OutOfBounds, from_percent, parse, plain, shift


def choices(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """SelectField choices from (value, label) pairs (WTForms 3.3 wants SelectChoice objects)."""
    return [SelectChoice(value, label) for value, label in pairs]


class DecimalInput(Field):
    """A money or rate input bounded by a market.bounded.Bound: plain finite numbers within the domain only.

    `percent=True` (rates on the web): the user types per cent (5.25), `data` is the fraction (0.0525) that the
    services take. `required=True` adds InputRequired, otherwise the field is Optional (blank gives `default`).
    """

    widget = NumberInput(step="any")

    def __init__(self, label=None, validators=None, *, bound: Bound, percent: bool = False, required: bool = False,
                 **kwargs):
        chain = [InputRequired() if required else Optional(), *(validators or [])]
        super().__init__(label, chain, **kwargs)
        self.bound = bound
        self.percent = percent

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            value = parse(valuelist[0])
        except OutOfBounds as exc:
            self.data = None
            raise ValueError(exc.localized()) from None
        self.data = from_percent(value) if self.percent else value

    def pre_validate(self, form):
        if self.data is None or self.process_errors:
            return
        try:
            self.bound.check(self.data, percent=self.percent)
        except OutOfBounds as exc:
            raise ValidationError(exc.localized()) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        value = Decimal(str(self.data))
        if not value.is_finite():
            return ""
        if self.percent:
            return plain(shift(value, 2))
        return f"{value:f}" if self.bound.is_rate else f"{value.quantize(Decimal('0.01')):f}"


def flash_errors(form, summary: str) -> None:
    """A form posted from another page was refused: flash `summary` and each field's own message ("Label: why"),
    so the user learns which value was wrong and why, in their language."""
    from flask import flash

    parts = [f"{form[name].label.text}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items()
             if name in form._fields]
    flash(" ".join([summary, *parts]), "error")
