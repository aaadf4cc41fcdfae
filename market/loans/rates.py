"""Benchmark and LPR rate table kept by staff: dated rows; the rate in force on a date is the newest row up to it.

Seeded with the People's Bank of China 1-year benchmark lending rate (贷款基准利率, 一年以内含一年) from 2012 on,
last changed 2015-10-24 to 4.35 %, and the 1-year Loan Prime Rate (贷款市场报价利率, published by the National
Interbank Funding Center since the reform of 2019-08-20). Only values the author is sure of are seeded; staff add rows.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from market.bounded import REFERENCE_RATE, within
from market.db import Base, Rate
from market.errors import InvalidInput, NotFound

BENCHMARK_1Y = "pbc_benchmark_1y"
LPR_1Y = "lpr_1y"
RATE_KINDS = (BENCHMARK_1Y, LPR_1Y)


class ReferenceRate(Base):
    __tablename__ = "loan_reference_rate"
    __table_args__ = (UniqueConstraint("kind", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    effective_on: Mapped[date] = mapped_column(index=True)
    rate: Mapped[Decimal] = mapped_column(Rate)
    source: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]


PBOC = "PBoC benchmark lending rate, 1 year"
NIFC = "LPR 1 year, National Interbank Funding Center"
SEED_RATES: list[tuple[str, date, str, str]] = [
    (BENCHMARK_1Y, date(2012, 7, 6), "0.0600", PBOC),
    (BENCHMARK_1Y, date(2014, 11, 22), "0.0560", PBOC),
    (BENCHMARK_1Y, date(2015, 3, 1), "0.0535", PBOC),
    (BENCHMARK_1Y, date(2015, 5, 11), "0.0510", PBOC),
    (BENCHMARK_1Y, date(2015, 6, 28), "0.0485", PBOC),
    (BENCHMARK_1Y, date(2015, 8, 26), "0.0460", PBOC),
    (BENCHMARK_1Y, date(2015, 10, 24), "0.0435", PBOC),
    (LPR_1Y, date(2019, 8, 20), "0.0425", NIFC),
    (LPR_1Y, date(2019, 9, 20), "0.0420", NIFC),
    (LPR_1Y, date(2019, 11, 20), "0.0415", NIFC),
    (LPR_1Y, date(2020, 2, 20), "0.0405", NIFC),
    (LPR_1Y, date(2020, 4, 20), "0.0385", NIFC),
    (LPR_1Y, date(2021, 12, 20), "0.0380", NIFC),
    (LPR_1Y, date(2022, 1, 20), "0.0370", NIFC),
    (LPR_1Y, date(2022, 8, 22), "0.0365", NIFC),
    (LPR_1Y, date(2023, 6, 20), "0.0355", NIFC),
    (LPR_1Y, date(2023, 8, 21), "0.0345", NIFC),
    (LPR_1Y, date(2024, 7, 22), "0.0335", NIFC),
    (LPR_1Y, date(2024, 10, 21), "0.0310", NIFC),
    (LPR_1Y, date(2025, 5, 20), "0.0300", NIFC),
]


def ensure_rates(session: Session, now: datetime) -> None:
    existing = {(k, d) for k, d in session.execute(select(ReferenceRate.kind, ReferenceRate.effective_on))}
    from sqlalchemy.exc import IntegrityError

    missing = [r for r in SEED_RATES if (r[0], r[1]) not in existing]
    if missing:
        try:
            with session.begin_nested():  # a concurrent first use may seed the same rows: keep theirs
                for kind, on, rate, source in missing:
                    session.add(ReferenceRate(kind=kind, effective_on=on, rate=Decimal(rate), source=source,
                                              created_at=now))
        except IntegrityError:
            pass
    session.flush()


def rate_on(session: Session, kind: str, on: date) -> Decimal:
    if session.scalar(select(ReferenceRate.id).limit(1)) is None:
        ensure_rates(session, datetime.combine(on, datetime.min.time()))
    row = session.scalars(
        select(ReferenceRate).where(ReferenceRate.kind == kind, ReferenceRate.effective_on <= on)
        .order_by(ReferenceRate.effective_on.desc()).limit(1)
    ).first()
    if row is None:
        from market.loans.labels import rate_kind  # labels import the models, which import this module

        raise NotFound("No %(kind)s rate is known on %(date)s.", kind=rate_kind(kind), date=on.isoformat())
    return Decimal(row.rate)


def benchmark_on(session: Session, on: date) -> Decimal:
    """The PBoC 1-year benchmark lending rate in force on `on`."""
    return rate_on(session, BENCHMARK_1Y, on)


def lpr_on(session: Session, on: date) -> Decimal:
    return rate_on(session, LPR_1Y, on)


def add_rate(session: Session, actor, *, kind: str, effective_on: date, rate: Decimal, source: str | None,
             now: datetime) -> ReferenceRate:
    from market.accounts.models import Role
    from market.audit.service import record
    from market.db import insert_unique
    from market.errors import Conflict, Forbidden

    if actor.role is not Role.STAFF or not actor.can_act:
        raise Forbidden("Only exchange staff keep the rate table.")
    if kind not in RATE_KINDS:
        raise InvalidInput("Unknown rate kind.")
    if not within(REFERENCE_RATE, rate):  # 1e-40 would be stored as 0 and break every later loan
        raise InvalidInput("The rate must be a fraction from 0.0001 to 0.2 with at most 6 places, e.g. 0.0435.")
    if session.scalar(select(ReferenceRate.id).where(ReferenceRate.kind == kind,
                                                     ReferenceRate.effective_on == effective_on)):
        raise Conflict("A rate of this kind already exists for that date.")
    row = ReferenceRate(kind=kind, effective_on=effective_on, rate=rate, source=source, created_by_id=actor.id,
                        created_at=now)
    insert_unique(session, row, Conflict("A rate of this kind already exists for that date."))
    record(session, actor=actor, action="rate.added", entity_type="reference_rate", entity_id=row.id, now=now,
           after={"kind": kind, "effective_on": effective_on, "rate": rate})
    return row
