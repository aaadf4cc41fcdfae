"""Live counters for the home page. Each area adds its figures through `COUNTERS` as it comes in."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, OrgKind, OrgStatus


def _verified(kind: OrgKind) -> Callable[[Session], int]:
    def count(session: Session) -> int:
        return session.scalar(
            select(func.count()).select_from(Organisation).where(
                Organisation.kind == kind, Organisation.status == OrgStatus.VERIFIED
            )
        ) or 0

    return count


# (key, label, function of the session) — rendered in this order.
COUNTERS: list[tuple[str, object, Callable[[Session], int]]] = [
    ("banks", _l("Financial institutions taking part"), _verified(OrgKind.BANK)),
    ("enterprises", _l("Enterprises registered"), _verified(OrgKind.ENTERPRISE)),
    ("valuers", _l("Valuation agencies"), _verified(OrgKind.VALUATION_AGENCY)),
]


def home_counters(session: Session) -> list[dict]:
    from market.areas import collect

    return [{"key": key, "label": label, "value": fn(session)} for key, label, fn in COUNTERS + collect("counters")]
