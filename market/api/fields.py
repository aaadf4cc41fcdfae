"""Marshmallow fields shared by the API areas."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache

from marshmallow import ValidationError, fields, validate

from market.bounded import AMOUNT, Bound, OutOfBounds, decimal_places, parse
from market.db import MAX_ID


class UtcDateTime(fields.DateTime):
    """Stored times are naive UTC; on the wire they carry their offset (an RFC 3339 date-time needs one)."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)




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


class BoundedDecimal(Dec):
    """An amount or rate on the way in, bounded by a market.bounded.Bound (the same rule as the web forms): a
    decimal string or a JSON number, finite, within the domain's range and places; sent back as a decimal string.
    Rates travel as fractions (0.0435)."""

    def __init__(self, bound: Bound, **kw):
        metadata = dict(kw.pop("metadata", {}))
        unit = "a fraction (0.0435 = 4.35 %)" if bound.is_rate else "yuan"
        metadata.setdefault("description", f"{unit}; {bound.describe()}")
        metadata.setdefault("x-minimum", float(bound.low))
        metadata.setdefault("x-maximum", float(bound.high))
        super().__init__(allow_nan=False, as_string=True, metadata=metadata, **kw)
        self.bound = bound

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return self.bound.check(parse(value))
        except OutOfBounds as exc:
            raise ValidationError(exc.localized()) from None


def bounded(bound: Bound = AMOUNT, **kw) -> BoundedDecimal:
    """The field for one money or rate input of the API (see market.bounded for the domains)."""
    return BoundedDecimal(bound, **kw)


def places(n: int):
    """A validator: at most `n` decimal places (1E-30 is not an amount or a rate anyone means, and dividing by
    it overflows every quantisation after)."""

    def check(value: Decimal) -> None:
        if value.is_finite() and decimal_places(value) > n:
            raise ValidationError(OutOfBounds("Use at most %(places)s decimal places.", places=n).localized())

    return check


def _serialize_derived(self, attr, obj, accessor=None, **kwargs):
    return self._serialize(self.derive(obj), attr, obj, **kwargs)


@cache
def _derived_class(base: type[fields.Field]) -> type[fields.Field]:
    """A subclass of `base` whose value is `self.derive(obj)` rather than an attribute of the object."""
    return type(f"Derived{base.__name__}", (base,), {"serialize": _serialize_derived})


def derived(field: fields.Field, derive: Callable) -> fields.Field:
    """`field` with its value computed by `derive(obj)`; it stays a subclass of its own type, so the OpenAPI
    document describes it as before."""
    field.__class__ = _derived_class(type(field))
    field.derive = derive
    return field
