"""Marshmallow fields shared by the API areas."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from marshmallow import fields, validate


class UtcDateTime(fields.DateTime):
    """Stored times are naive UTC; on the wire they carry their offset (an RFC 3339 date-time needs one)."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


MAX_ID = 2**31 - 1  # ids are INTEGER columns (PostgreSQL int4)
MAX_AMOUNT = Decimal("9999999999999999.99")  # what a Money column (18 digits, 2 decimals) holds


def row_id(strict: bool = True, **kw) -> fields.Integer:
    """The id of a row on the way in: a positive whole number an INTEGER column can hold (else 422, never a driver
    error). Query-string ids arrive as text: pass strict=False for those."""
    return fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kw)


class Dec(fields.Decimal):
    """A decimal that never goes through binary floating point (JSON numbers arrive as floats)."""

    def _format_num(self, value):
        if isinstance(value, float):
            value = str(value)
        return super()._format_num(value)


def dec(**kw) -> Dec:
    """A decimal string on the wire (money, rates): no NaN, no float on the way in."""
    return Dec(allow_nan=False, as_string=True, **kw)


def places(n: int):
    """A validator: at most `n` decimal places (1E-30 is not an amount or a rate anyone means, and dividing by
    it overflows every quantisation after)."""
    from marshmallow import ValidationError

    def check(value: Decimal) -> None:
        _sign, digits, exponent = value.as_tuple()
        if not value.is_finite() or not any(digits):  # zero is zero, whatever its places
            return
        # Trailing zeros are not places (1.500 is 1.5). Counted on the digits, never with quantize(), which raises
        # InvalidOperation for a value longer than the context's precision.
        end = len(digits)
        while exponent < -n and end > 1 and digits[end - 1] == 0:
            end -= 1
            exponent += 1
        if exponent < -n:
            raise ValidationError(f"Use at most {n} decimal places.")

    return check
