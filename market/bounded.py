"""One bounded decimal for every amount and rate the market takes in, on the web forms and in the API.

A value is accepted when it is a plain finite number (no NaN, no Infinity, no exponent, at most MAX_TEXT
characters of text), has at most the places of its kind (2 for money, 6 for rates) and lies within the stated
range of its domain. Everything else is refused with a translatable message, before any arithmetic or any write:
an amount the Money column cannot hold is never stored as a float, and a rate of 1e-40 is never rounded to zero.

The WTForms field (market.formkit.DecimalInput) and the marshmallow field (market.api.fields.bounded) are built on
`parse` and `Bound.check` here, and the stated domain bounds are the constants below (the one place to change them).

Web forms take rates in per cent (5.25 means 5.25 % a year); the API takes them as fractions (0.0525), as its
documentation says. `from_percent` is the one conversion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

N_ = str  # marks a msgid for extraction; translated where the message is shown

# What a Money column (Numeric(18, 2)) holds, and the largest amount the market deals in: no loan, valuation,
# bid, premium, repayment or fund top-up is larger than ¥100 billion (1000亿元).
MONEY_COLUMN_MAX = Decimal("9999999999999999.99")
MAX_AMOUNT = Decimal("100000000000")
# A bid is at most this many times the lot's valuation (app config BID_MAX_MULTIPLE_OF_VALUATION overrides it).
BID_MAX_MULTIPLE_OF_VALUATION = Decimal(10)
# No amount or rate needs more characters than this; longer text is refused before Decimal reads it.
MAX_TEXT = 40

_PLAIN = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+", re.ASCII)


class OutOfBounds(ValueError):
    """A value refused by its bound; `message` is an English msgid with %(name)s parameters."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def localized(self) -> str:
        from flask import has_app_context

        if not has_app_context():
            return str(self)
        from flask_babel import gettext

        return gettext(self.message, **self.params)


NOT_A_NUMBER = N_("Enter a plain number such as 1234.56 (digits, at most one decimal point).")


def parse(value: object) -> Decimal:
    """A finite Decimal from form text, a JSON number or a Decimal; never through binary floating point."""
    if isinstance(value, bool):
        raise OutOfBounds(NOT_A_NUMBER)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        if abs(value) >= 10**MAX_TEXT:
            raise OutOfBounds(NOT_A_NUMBER)
        result = Decimal(value)
    elif isinstance(value, float):
        # A JSON number arrives as a float; its shortest repr is the number that was written (1e309 is inf).
        if value != value or value in (float("inf"), float("-inf")):
            raise OutOfBounds(NOT_A_NUMBER)
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_TEXT or not _PLAIN.fullmatch(text):
            raise OutOfBounds(NOT_A_NUMBER)
        try:
            result = Decimal(text.replace(",", ""))
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only what Decimal reads
            raise OutOfBounds(NOT_A_NUMBER) from exc
    else:
        raise OutOfBounds(NOT_A_NUMBER)
    if not result.is_finite():
        raise OutOfBounds(NOT_A_NUMBER)
    return result


def decimal_places(value: Decimal) -> int:
    """The places a finite value really has (1.500 has 1; zero has none), counted on its digits, never with
    quantize(), which raises InvalidOperation for a value longer than the context's precision."""
    _sign, digits, exponent = value.as_tuple()
    if not any(digits):
        return 0
    end = len(digits)
    while end > 1 and digits[end - 1] == 0 and exponent < 0:
        end -= 1
        exponent += 1
    return max(0, -exponent)


def shift(value: Decimal, places: int) -> Decimal:
    """value × 10**places, exactly (no rounding to the context's precision)."""
    sign, digits, exponent = value.as_tuple()
    return Decimal((sign, digits, exponent + places))


def from_percent(value: Decimal) -> Decimal:
    """5.25 (per cent) → 0.0525, exactly."""
    return shift(value, -2)


def plain(value: Decimal) -> str:
    """A value as plain text without exponent or trailing zeros after the point (0.0525, 1500000)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Bound:
    """A domain of decimals: at most `places` places, within [low, high] (ends open when not inclusive)."""

    name: str
    places: int
    low: Decimal
    high: Decimal
    low_inclusive: bool = True
    high_inclusive: bool = True

    @property
    def is_rate(self) -> bool:
        return self.places > 2

    def check(self, value: Decimal, percent: bool = False) -> Decimal:
        """The value itself when it is within the bound, else OutOfBounds. `percent`: messages speak in per cent
        (the value is still the fraction)."""
        if not isinstance(value, Decimal) or not value.is_finite():
            raise OutOfBounds(NOT_A_NUMBER)
        shown = (lambda d: f"{plain(shift(d, 2))} %") if percent else plain
        if value < self.low or (value == self.low and not self.low_inclusive):
            message = N_("Enter at least %(low)s.") if self.low_inclusive else N_("Enter more than %(low)s.")
            raise OutOfBounds(message, low=shown(self.low))
        if value > self.high or (value == self.high and not self.high_inclusive):
            message = N_("Enter at most %(high)s.") if self.high_inclusive else N_("Enter less than %(high)s.")
            raise OutOfBounds(message, high=shown(self.high))
        allowed = self.places - 2 if percent else self.places
        if decimal_places(value) > self.places:
            raise OutOfBounds(N_("Use at most %(places)s decimal places."), places=allowed)
        return value

    def describe(self, percent: bool = False) -> str:
        scale = (lambda d: f"{plain(shift(d, 2))} %") if percent else plain
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        return f"{left}{scale(self.low)}, {scale(self.high)}{right}, at most {self.places - 2 * percent} places"


# The stated domains. Money has 2 places; rates, shares and ratios 6 (as stored in market.db.Rate).
AMOUNT = Bound("amount", 2, Decimal("0.01"), MAX_AMOUNT)  # a loan, valuation, price, bid, top-up
AMOUNT_OR_ZERO = Bound("amount_or_zero", 2, Decimal(0), MAX_AMOUNT)  # premiums, repayment parts, recoveries
ANNUAL_RATE = Bound("annual_rate", 6, Decimal(0), Decimal(1), low_inclusive=False, high_inclusive=False)
REFERENCE_RATE = Bound("reference_rate", 6, Decimal("0.0001"), Decimal("0.2"))  # PBoC benchmark, LPR: 0.01–20 %
SHARE = Bound("share", 6, Decimal(0), Decimal(1))  # coverages, subsidy and compensation shares, ceilings
LOAN_TO_VALUE = Bound("loan_to_value", 6, Decimal("0.01"), Decimal(1))
RATE_CAP_RATIO = Bound("rate_cap_ratio", 6, Decimal(1), Decimal(5))  # 1.5 = 150 % of the benchmark

def within(bound: Bound, value: object) -> bool:
    """Whether `value` (a Decimal, or anything `parse` reads) is inside `bound`: services check their inputs with
    the same rule as the surfaces (a second line behind the form and API fields)."""
    try:
        bound.check(parse(value))
    except OutOfBounds:
        return False
    return True


DOMAINS = (AMOUNT, AMOUNT_OR_ZERO, ANNUAL_RATE, REFERENCE_RATE, SHARE, LOAN_TO_VALUE, RATE_CAP_RATIO)


def bid_multiple() -> Decimal:
    """How many times its valuation a lot may be bid up to (app config BID_MAX_MULTIPLE_OF_VALUATION)."""
    from flask import current_app, has_app_context

    configured = current_app.config.get("BID_MAX_MULTIPLE_OF_VALUATION") if has_app_context() else None
    return Decimal(str(configured)) if configured else BID_MAX_MULTIPLE_OF_VALUATION


def bid_ceiling(valuation: Decimal) -> Decimal:
    """The highest bid a lot takes: a stated multiple of its valuation, never more than MAX_AMOUNT."""
    return min(Decimal(valuation) * bid_multiple(), MAX_AMOUNT)
