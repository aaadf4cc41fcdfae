"""The policy versions and the dated reference-rate table.

A loan is judged by the policy version in force on the day it was signed, never by a later one. The version in
force on a date is the newest with effective_from ≤ date (and effective_to, when set, ≥ date). Table names keep
their first prefix (`loan_`): the rows are the same.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, Money, Rate, enum_type

BENCHMARK_1Y = "pbc_benchmark_1y"
LPR_1Y = "lpr_1y"
RATE_KINDS = (BENCHMARK_1Y, LPR_1Y)


class RateCapMode(enum.StrEnum):
    BENCHMARK_RATIO = "benchmark_ratio"  # actual rate ≤ ratio × PBoC benchmark of the same period
    LPR_SPREAD = "lpr_spread"  # actual rate ≤ LPR + spread (basis points)


class Policy(Base):
    """One version of the financing policy."""

    __tablename__ = "loan_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date] = mapped_column(index=True)
    effective_to: Mapped[date | None]
    eligible_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    rate_cap_mode: Mapped[RateCapMode] = mapped_column(enum_type(RateCapMode), default=RateCapMode.BENCHMARK_RATIO)
    rate_cap_ratio: Mapped[Decimal] = mapped_column(Rate)  # 1.5 = 150 % of the benchmark
    rate_cap_spread_bp: Mapped[int | None] = mapped_column(Integer)  # LPR mode: + basis points
    premium_subsidy_rate: Mapped[Decimal] = mapped_column(Rate)  # 0.01 of the loan amount, per loan
    compensation_rate: Mapped[Decimal] = mapped_column(Rate)  # 0.30 of the principal loss
    compensation_cap: Mapped[Decimal] = mapped_column(Money)  # 1,500,000 per loan
    enterprise_risk_ceiling: Mapped[Decimal] = mapped_column(Rate)  # 0.10
    # Days an instalment may stay unpaid before the bank may declare the loan in default on its own (earlier only
    # with staff confirmation). 90: Chinese banks classify a loan 90 days overdue as non-performing (次级).
    default_grace_days: Mapped[int] = mapped_column(Integer, default=90)
    spending_order: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Third and fourth in the spending order (values not in the paper: staff set them per version).
    intermediary_reward_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0.002"))  # of the principal
    intermediary_reward_cap: Mapped[Decimal] = mapped_column(Money, default=Decimal("20000.00"))  # per intermediary
    interest_subsidy_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0.30"))  # of the interest paid
    interest_subsidy_cap: Mapped[Decimal] = mapped_column(Money, default=Decimal("100000.00"))  # per loan
    # Jiangsu's relationship lending: a government recommendation at most this many days old on the signing day
    # makes the loan eligible for compensation (market.policy.regional).
    recommendation_valid_days: Mapped[int] = mapped_column(Integer, default=365)
    source: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]

    @property
    def rate_benchmark_kind(self) -> str:
        return LPR_1Y if self.rate_cap_mode is RateCapMode.LPR_SPREAD else BENCHMARK_1Y


class ReferenceRate(Base):
    """A dated benchmark or LPR rate; the rate in force on a date is the newest row of its kind up to it."""

    __tablename__ = "loan_reference_rate"
    __table_args__ = (UniqueConstraint("kind", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    effective_on: Mapped[date] = mapped_column(index=True)
    rate: Mapped[Decimal] = mapped_column(Rate)
    source: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
