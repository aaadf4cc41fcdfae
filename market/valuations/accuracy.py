"""Accountability of valuers (评估责任): their valuations compared with what the exchange later sold the asset for.

For every lot the exchange sold (the `asset_sales` contributions: sold or settled, with a price), the latest report
on the same asset issued before the lot was listed is matched; its absolute error is |valuation − price| / price.
Rows are per agency and valuer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation
from market.areas import collect
from market.valuations.models import REPORT_STATUSES, Valuation


class Sale(NamedTuple):
    """A lot sold at a price (what an `asset_sales` contribution lists)."""

    listing_id: int
    asset_id: int
    price: Decimal
    listed_at: datetime


@dataclass
class AccuracyRow:
    agency_id: int
    agency: str
    valuer_id: int
    valuer: str
    n: int
    mean_abs_error: Decimal  # a fraction: 0.2500 is 25 %

    @property
    def mean_abs_pct_error(self) -> Decimal:
        return (self.mean_abs_error * 100).quantize(Decimal("0.01"))


@dataclass
class Match:
    listing_id: int
    valuation_id: int
    valuation: Decimal
    price: Decimal
    abs_error: Decimal


def disposal_matches(session: Session) -> list[Match]:
    """Each sold lot with the latest valuation of its asset issued before the lot was created."""
    matches = []
    for listing_id, asset_id, price, listed_at in [sale for sales in collect("asset_sales") for sale in sales(session)]:
        valuation = session.scalar(select(Valuation).where(
            Valuation.asset_id == asset_id, Valuation.status.in_(REPORT_STATUSES),
            Valuation.issued_at.is_not(None), Valuation.issued_at < listed_at)
            .order_by(Valuation.issued_at.desc(), Valuation.id.desc()).limit(1))
        if valuation is None:
            continue
        error = abs(valuation.amount - price) / price
        matches.append(Match(listing_id, valuation.id, valuation.amount, price, error))
    return matches


def valuer_accuracy(session: Session) -> list[AccuracyRow]:
    """Rows (agency, responsible signer, n, mean absolute error), most accurate first. The signer (签字评估师) is
    accountable for the figure, so rows are per agency and signer, named as the report names them; `valuer_id` is
    the account that filed the signer's latest matched report."""
    groups: dict[tuple[int, str, str], list[Decimal]] = {}
    filed_by: dict[tuple[int, str, str], int] = {}
    for match in disposal_matches(session):
        v = session.get(Valuation, match.valuation_id)
        key = (v.agency_org_id, v.signer_name, v.signer_qualification)
        groups.setdefault(key, []).append(match.abs_error)
        filed_by[key] = v.valuer_id
    rows = []
    for (agency_id, signer, qualification), errors in groups.items():
        agency = session.get(Organisation, agency_id)
        mean = (sum(errors, Decimal(0)) / len(errors)).quantize(Decimal("0.0001"))
        name = f"{signer} · {qualification}" if qualification else signer
        rows.append(AccuracyRow(agency_id, agency.name, filed_by[(agency_id, signer, qualification)], name,
                                len(errors), mean))
    return sorted(rows, key=lambda r: (r.mean_abs_error, -r.n, r.agency, r.valuer))
