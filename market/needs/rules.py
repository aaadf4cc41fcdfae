"""Small pure rules of the needs area: amount bands, working days, eligible kinds, the review checklist."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from market.ip.models import IpKind
from market.policy.service import kinds_in_force

DEFAULT_RESPONSE_WORKING_DAYS = 5

# (code, upper bound exclusive in 元 or None, label)
AMOUNT_BANDS: list[tuple[str, Decimal | None, object]] = [
    ("lt1m", Decimal("1000000"), _l("Under 1 million")),
    ("1m-5m", Decimal("5000000"), _l("1 to 5 million")),
    ("5m-10m", Decimal("10000000"), _l("5 to 10 million")),
    ("10m-50m", Decimal("50000000"), _l("10 to 50 million")),
    ("ge50m", None, _l("50 million and more")),
]
AMOUNT_BAND_LABELS = {code: label for code, _upper, label in AMOUNT_BANDS}

REVIEW_CHECKLIST: list[tuple[str, object]] = [
    ("identity", _l("The enterprise and its credit code match the registry")),
    ("assets", _l("The offered assets are the enterprise's own, in force and free")),
    ("terms", _l("Amount, term and rate are plausible")),
    ("purpose", _l("The purpose is clear and lawful")),
]


def amount_band(amount: Decimal) -> str:
    for code, upper, _label in AMOUNT_BANDS:
        if upper is None or amount < upper:
            return code
    raise AssertionError("unreachable")


def add_working_days(start: datetime, days: int) -> datetime:
    """`start` moved forward by `days` working days (Saturdays and Sundays skipped), same time of day."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def eligible_kinds(session, now: datetime) -> frozenset[IpKind]:
    """The IP kinds the pledge policy in force accepts."""
    return kinds_in_force(session, now.date())


def working_days_left(now: datetime, deadline: datetime) -> int:
    """Whole working days (Monday to Friday) from `now` until `deadline`: 0 on the deadline's own day, negative when
    the deadline has passed (the working days late, at least 1)."""
    if deadline < now:
        return -max(_working_days_between(deadline, now), 1)
    return _working_days_between(now, deadline)


def _working_days_between(start: datetime, end: datetime) -> int:
    days, current = 0, start.date()
    while current < end.date():
        current += timedelta(days=1)
        if current.weekday() < 5:
            days += 1
    return days
