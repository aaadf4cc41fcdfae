"""The risk-compensation policy engine: versioned policies (a `Policy` table) and pure functions over them.

A loan is judged by the policy in force on the day it was signed (`policy_in_force(session, signed_on)`), never by
a later one. The seed is the 2015 Chongqing measures (see shared/reference, section (3) 建立风险补偿机制):

- eligible pledge objects: invention, utility model, design patents and IC layout designs;
- risk compensation: ≤ 30 % of the bad-debt PRINCIPAL loss, at most ¥1,500,000 per loan, only when the actual rate is
  ≤ 150 % of the benchmark rate of the same period (alternative mode: LPR + basis points);
- guarantee or insurance premium subsidy ≤ 1 % of the loan amount. Decision: the 1 % cap is per loan, across the
  guarantee premium and the insurance premium together (the measures say "不超过每笔贷款金额 1%的担保费或保险费补助":
  one cap per loan). The subsidy is split between guarantor and insurer in proportion to their premiums;
- the enterprise's share of risk is kept within 10 %;
- spending order of the fund: credit enhancement, bad-loan compensation, intermediary rewards, enterprise interest
  subsidy (kept as data on the policy).

Money: Decimal quantized to 0.01 ROUND_HALF_UP. Rates: Decimal fractions (0.0435). No float anywhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from market.db import Base, Money, Rate, enum_type, lock_rows
from market.errors import InvalidInput, NotFound

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
RATIO_PLACES = Decimal("0.0001")


def money(value) -> Decimal:
    """Exact money: Decimal quantized to 0.01 with ROUND_HALF_UP (strings and ints accepted, floats refused)."""
    if isinstance(value, float):
        raise TypeError("money must not travel through float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def as_decimal(value, name: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{name} must not travel through float")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput("%(name)s is not a number.", name=name) from exc
    if not result.is_finite():
        raise InvalidInput("%(name)s is not a number.", name=name)
    return result


class RateCapMode(enum.StrEnum):
    BENCHMARK_RATIO = "benchmark_ratio"  # actual rate ≤ ratio × PBoC benchmark of the same period
    LPR_SPREAD = "lpr_spread"  # actual rate ≤ LPR + spread (basis points)


class Policy(Base):
    """One version of the financing policy. The version in force on a date is the newest with effective_from ≤ date
    (and effective_to, when set, ≥ date)."""

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
    source: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]

    @property
    def rate_benchmark_kind(self) -> str:
        from market.loans.rates import BENCHMARK_1Y, LPR_1Y

        return LPR_1Y if self.rate_cap_mode is RateCapMode.LPR_SPREAD else BENCHMARK_1Y


DEFAULT_GRACE_DAYS = 90  # the five-category classification: more than 90 days overdue is non-performing (次级)
MAX_GRACE_DAYS = 365
SPENDING_ORDER = ["credit_enhancement", "bad_loan_compensation", "intermediary_rewards", "enterprise_interest_subsidy"]

SEED_POLICIES = [
    {
        "code": "cq-2015",
        "name": "重庆市知识产权质押融资风险补偿（2015）",
        "effective_from": date(2015, 1, 1),
        "effective_to": None,
        "eligible_kinds": ["invention", "utility_model", "design", "ic_layout"],
        "rate_cap_mode": RateCapMode.BENCHMARK_RATIO,
        "rate_cap_ratio": Decimal("1.5"),
        "rate_cap_spread_bp": None,
        "premium_subsidy_rate": Decimal("0.01"),
        "compensation_rate": Decimal("0.30"),
        "compensation_cap": Decimal("1500000.00"),
        "enterprise_risk_ceiling": Decimal("0.10"),
        "default_grace_days": DEFAULT_GRACE_DAYS,
        "spending_order": SPENDING_ORDER,
        "source": "Chongqing 2015 measures as summarised in shared/reference/chongqing-ip-pledge-financing.zh.txt "
        "(effective date of the version approximated to 2015-01-01; staff may correct it)",
    }
]


def ensure_policies(session: Session, now: datetime) -> None:
    """Insert the seed policies that are missing (idempotent)."""
    from sqlalchemy.exc import IntegrityError

    existing = set(session.scalars(select(Policy.code)))
    for spec in SEED_POLICIES:
        if spec["code"] not in existing:
            try:
                with session.begin_nested():  # a concurrent first use may seed the same row: keep theirs
                    session.add(Policy(**spec, created_at=now))
            except IntegrityError:
                pass
    session.flush()


def policy_in_force(session: Session, on: date) -> Policy:
    """The policy version in force on `on` (seeded on first use of an empty table)."""
    if session.scalar(select(Policy.id).where(Policy.code == SEED_POLICIES[0]["code"])) is None:
        ensure_policies(session, datetime.combine(on, datetime.min.time()))
    policy = session.scalars(
        select(Policy)
        .where(Policy.effective_from <= on)
        .where((Policy.effective_to.is_(None)) | (Policy.effective_to >= on))
        .order_by(Policy.effective_from.desc(), Policy.id.desc())
        .limit(1)
    ).first()
    if policy is None:
        raise NotFound("No financing policy is in force on %(date)s.", date=on.isoformat())
    return policy


# ---------------------------------------------------------------------------------------------------------------
# Pure rules
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reason:
    """Why a loan is not eligible: a translatable English msgid with its parameters."""

    code: str
    message: str
    params: dict = field(default_factory=dict)

    def localized(self) -> str:
        try:
            from flask_babel import gettext

            return gettext(self.message, **self.params)
        except (RuntimeError, KeyError):  # outside an app context
            return self.message % self.params if self.params else self.message


def rate_cap(policy, benchmark_rate: Decimal) -> Decimal:
    """The highest actual annual rate that keeps a loan within the policy (exact, not rounded)."""
    if policy.rate_cap_mode == RateCapMode.LPR_SPREAD:
        return benchmark_rate + Decimal(policy.rate_cap_spread_bp or 0) / Decimal(10000)
    return benchmark_rate * Decimal(policy.rate_cap_ratio)


def rate_reasons(policy, annual_rate: Decimal, benchmark_rate: Decimal) -> list[Reason]:
    cap = rate_cap(policy, benchmark_rate)
    if annual_rate <= cap:
        return []
    if policy.rate_cap_mode == RateCapMode.LPR_SPREAD:
        return [Reason("rate_above_cap",
                       "The actual rate %(rate)s is above the cap of LPR + %(bp)s basis points (%(cap)s): "
                       "the loan gets no risk compensation.",
                       {"rate": pct(annual_rate), "bp": policy.rate_cap_spread_bp or 0, "cap": pct(cap)})]
    return [Reason("rate_above_cap",
                   "The actual rate %(rate)s is above %(ratio)s of the benchmark rate (%(cap)s): "
                   "the loan gets no risk compensation.",
                   {"rate": pct(annual_rate), "ratio": pct(Decimal(policy.rate_cap_ratio), 0), "cap": pct(cap)})]


def kind_eligible(policy, kind: str) -> bool:
    return str(kind) in set(policy.eligible_kinds or [])


def pct(value: Decimal, digits: int = 4) -> str:
    """A fraction as a percentage string: 0.06525 → '6.525%' (trailing zeros dropped)."""
    text = f"{(value * 100).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def premium_subsidy(policy, loan_amount: Decimal, guarantee_premium: Decimal = ZERO,
                    insurance_premium: Decimal = ZERO) -> tuple[Decimal, Decimal, Decimal]:
    """(total, to guarantor, to insurer): min(premiums, 1 % of the loan), ONE cap per loan across both premiums,
    split in proportion to the premiums (the insurer's part takes the rounding remainder)."""
    premiums = money(guarantee_premium) + money(insurance_premium)
    cap = money(loan_amount * Decimal(policy.premium_subsidy_rate))
    total = min(premiums, cap)
    if premiums == 0:
        return ZERO, ZERO, ZERO
    to_guarantor = money(total * money(guarantee_premium) / premiums)
    return total, to_guarantor, total - to_guarantor


def compensation(policy, bank_principal_loss: Decimal, rate_ok: bool) -> Decimal:
    """min(30 % × principal loss, ¥1,500,000) when the rate was within the cap, else 0."""
    if not rate_ok or bank_principal_loss <= 0:
        return ZERO
    return min(money(bank_principal_loss * Decimal(policy.compensation_rate)), money(policy.compensation_cap))


@dataclass
class LossSplit:
    loss: Decimal
    guarantor: Decimal
    insurer: Decimal
    bank_loss: Decimal  # the bank's principal loss after guarantor and insurer: the base of compensation
    government: Decimal
    enterprise: Decimal
    bank: Decimal

    def as_dict(self) -> dict[str, Decimal]:
        return {"loss": self.loss, "government": self.government, "guarantor": self.guarantor,
                "insurer": self.insurer, "bank": self.bank, "enterprise": self.enterprise}


def split_loss(policy, loss: Decimal, rate_ok: bool, guarantee_coverage: Decimal = ZERO,
               insurance_coverage: Decimal = ZERO, enterprise_coverage: Decimal = ZERO) -> LossSplit:
    """Who carries a principal loss: the guarantor and the insurer their coverage fractions of it, the enterprise its
    own coverage fraction (counter-guarantee, joint liability; 0 by default), the government its compensation of the
    bank's remaining loss, and the bank the rest."""
    loss = money(loss)
    guarantor = money(loss * guarantee_coverage)
    insurer = money(loss * insurance_coverage)
    enterprise = money(loss * enterprise_coverage)
    bank_loss = max(loss - guarantor - insurer - enterprise, ZERO)
    government = compensation(policy, bank_loss, rate_ok)
    return LossSplit(loss=loss, guarantor=guarantor, insurer=insurer, bank_loss=bank_loss, government=government,
                     enterprise=enterprise, bank=bank_loss - government)


@dataclass
class PlanResult:
    eligible: bool
    reasons: list[Reason]
    rate_cap: Decimal
    rate_ratio: Decimal
    premium_subsidy: Decimal
    premium_subsidy_guarantor: Decimal
    premium_subsidy_insurer: Decimal
    compensation_on_total_loss: Decimal
    shares: dict[str, Decimal]
    enterprise_cost: Decimal
    enterprise_share: Decimal
    enterprise_within_ceiling: bool
    warnings: list[Reason]
    policy_code: str = ""


def _fraction(value, name: str) -> Decimal:
    result = as_decimal(value, name)
    if result < 0 or result > 1:
        raise InvalidInput("%(name)s must be a fraction between 0 and 1.", name=name)
    return result


def evaluate_plan(policy, loan_amount, annual_rate, benchmark_rate, term_months, guarantee_coverage=0,
                  guarantee_premium=0, insurance_coverage=0, insurance_premium=0, enterprise_coverage=0) -> PlanResult:
    """Evaluate a financing plan against `policy` (pure: no database).

    `eligible` means eligible for risk compensation (the rate cap); `reasons` say why not. The premium subsidy does
    not depend on the rate cap. The shares are those of a total loss of the principal. The enterprise's share of
    risk is its own coverage of the loss plus the premiums it pays net of the subsidy, as a fraction of the loan;
    `enterprise_within_ceiling` compares it with the policy's ceiling (10 %); exceeding it is a warning, not a reason.
    """
    loan_amount = as_decimal(loan_amount, "loan_amount")
    annual_rate = as_decimal(annual_rate, "annual_rate")
    benchmark_rate = as_decimal(benchmark_rate, "benchmark_rate")
    if loan_amount <= 0:
        raise InvalidInput("The loan amount must be positive.")
    if loan_amount != money(loan_amount):
        raise InvalidInput("The loan amount must have at most two decimals.")
    if annual_rate <= 0 or annual_rate >= 1:
        raise InvalidInput("The annual rate must be a fraction between 0 and 1, e.g. 0.0435.")
    if benchmark_rate <= 0 or benchmark_rate >= 1:
        raise InvalidInput("The benchmark rate must be a fraction between 0 and 1, e.g. 0.0435.")
    try:
        term = int(term_months)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("The term must be a whole number of months between 1 and 360.") from exc
    if term != term_months or not 1 <= term <= 360:
        raise InvalidInput("The term must be a whole number of months between 1 and 360.")
    gc = _fraction(guarantee_coverage, "guarantee_coverage")
    ic = _fraction(insurance_coverage, "insurance_coverage")
    ec = _fraction(enterprise_coverage, "enterprise_coverage")
    if gc + ic + ec > 1:
        raise InvalidInput("The coverages together must not exceed the whole loan.")
    gp = as_decimal(guarantee_premium, "guarantee_premium")
    ip = as_decimal(insurance_premium, "insurance_premium")
    if gp < 0 or ip < 0:
        raise InvalidInput("Premiums must not be negative.")
    if gp > 0 and gc == 0:
        raise InvalidInput("A guarantee premium needs a guarantee coverage.")
    if ip > 0 and ic == 0:
        raise InvalidInput("An insurance premium needs an insurance coverage.")
    gp, ip = money(gp), money(ip)

    reasons = rate_reasons(policy, annual_rate, benchmark_rate)
    rate_ok = not reasons
    subsidy, sub_g, sub_i = premium_subsidy(policy, loan_amount, gp, ip)
    split = split_loss(policy, loan_amount, rate_ok, gc, ic, ec)
    enterprise_cost = split.enterprise + (gp + ip - subsidy)
    enterprise_share = (enterprise_cost / loan_amount).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
    within = enterprise_cost <= loan_amount * Decimal(policy.enterprise_risk_ceiling)
    warnings = []
    if not within:
        warnings.append(Reason("enterprise_above_ceiling",
                               "The enterprise would carry %(share)s of the risk, above the ceiling of %(ceiling)s.",
                               {"share": pct(enterprise_share, 2),
                                "ceiling": pct(Decimal(policy.enterprise_risk_ceiling), 2)}))
    shares = split.as_dict()
    shares.pop("loss")
    return PlanResult(
        eligible=rate_ok, reasons=reasons, rate_cap=rate_cap(policy, benchmark_rate),
        rate_ratio=(annual_rate / benchmark_rate).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP),
        premium_subsidy=subsidy, premium_subsidy_guarantor=sub_g, premium_subsidy_insurer=sub_i,
        compensation_on_total_loss=split.government, shares=shares, enterprise_cost=enterprise_cost,
        enterprise_share=enterprise_share, enterprise_within_ceiling=within, warnings=warnings,
        policy_code=getattr(policy, "code", "") or "",
    )


# ---------------------------------------------------------------------------------------------------------------
# Versions kept by staff
# ---------------------------------------------------------------------------------------------------------------

POLICY_FIELDS = ["code", "name", "effective_from", "effective_to", "eligible_kinds", "rate_cap_mode", "rate_cap_ratio",
                 "rate_cap_spread_bp", "premium_subsidy_rate", "compensation_rate", "compensation_cap",
                 "enterprise_risk_ceiling", "default_grace_days"]


def policy_versions(session: Session) -> list[Policy]:
    return list(session.scalars(select(Policy).order_by(Policy.effective_from.desc(), Policy.id.desc())))


def add_policy(session: Session, staff, *, name: str, effective_from: date, eligible_kinds: list[str],
               rate_cap_mode: RateCapMode | str, rate_cap_ratio=None, rate_cap_spread_bp: int | None = None,
               premium_subsidy_rate, compensation_rate, compensation_cap, enterprise_risk_ceiling, now: datetime,
               source: str | None = None, default_grace_days: int | None = DEFAULT_GRACE_DAYS) -> Policy:
    """Staff add a new policy version taking effect on `effective_from`. Versions follow each other in time: the
    date must lie after the start of every existing version and outside any version's closed period (an overlapping
    date is refused); the version in force until then ends the day before. Loans keep the version they were signed
    under, so a new version never changes an existing loan."""
    from datetime import timedelta

    from market.accounts.models import Role
    from market.audit.service import record, snapshot
    from market.errors import Conflict, Forbidden
    from market.ip.models import IpKind

    if staff is None or staff.role is not Role.STAFF or not staff.can_act:
        raise Forbidden("Only exchange staff can do this.")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the policy version a name.")
    if effective_from is None:
        raise InvalidInput("Give the date the version takes effect.")
    known = {k.value for k in IpKind}
    kinds = list(dict.fromkeys(str(k) for k in eligible_kinds or []))
    if not kinds or any(k not in known for k in kinds):
        raise InvalidInput("Choose the eligible IP kinds (at least one known kind).")
    mode = RateCapMode(rate_cap_mode)
    if mode is RateCapMode.BENCHMARK_RATIO:
        ratio = as_decimal(rate_cap_ratio, "rate_cap_ratio") if rate_cap_ratio not in (None, "") else None
        if ratio is None or not Decimal("1") <= ratio <= Decimal("5"):
            raise InvalidInput("The rate cap must be a multiple of the benchmark between 1 and 5 (1.5 = 150 %).")
        spread = None
    else:
        if rate_cap_spread_bp is None or not 0 <= int(rate_cap_spread_bp) <= 2000:
            raise InvalidInput("The rate cap must be LPR plus 0 to 2,000 basis points.")
        ratio, spread = Decimal("0"), int(rate_cap_spread_bp)
    subsidy = as_decimal(premium_subsidy_rate, "premium_subsidy_rate")
    share = as_decimal(compensation_rate, "compensation_rate")
    ceiling = as_decimal(enterprise_risk_ceiling, "enterprise_risk_ceiling")
    for value in (subsidy, share, ceiling):
        if not Decimal(0) <= value <= Decimal(1):
            raise InvalidInput("Shares and caps given as fractions must lie between 0 and 1.")
    cap = money(as_decimal(compensation_cap, "compensation_cap"))
    if cap < 0:
        raise InvalidInput("The compensation cap must not be negative.")
    grace = DEFAULT_GRACE_DAYS if default_grace_days is None else default_grace_days
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= MAX_GRACE_DAYS:
        raise InvalidInput("The grace period before default must be 0 to %(max)s days.", max=MAX_GRACE_DAYS)

    ensure_policies(session, now)
    # Every version under its row lock first: two new versions at once queue, and the second sees the first
    # (an overlap, 409) instead of both ending the same current version.
    lock_rows(session, Policy, [v.id for v in policy_versions(session)])
    versions = policy_versions(session)
    for version in versions:
        ends = version.effective_to
        if version.effective_from >= effective_from or (ends is not None and ends >= effective_from):
            raise Conflict("The date %(date)s overlaps the version “%(name)s” (from %(start)s). A new version must "
                           "take effect after every existing one.", date=effective_from.isoformat(),
                           name=version.name, start=version.effective_from.isoformat())
    current = next((v for v in versions if v.effective_to is None), None)
    if current is not None:
        before = snapshot(current, POLICY_FIELDS)
        current.effective_to = effective_from - timedelta(days=1)
        session.flush()
        record(session, actor=staff, action="policy.ended", entity_type="loan_policy", entity_id=current.id, now=now,
               before=before, after=snapshot(current, POLICY_FIELDS))
    policy = Policy(
        code=f"v{effective_from:%Y%m%d}", name=name, effective_from=effective_from, effective_to=None,
        eligible_kinds=kinds, rate_cap_mode=mode, rate_cap_ratio=ratio, rate_cap_spread_bp=spread,
        premium_subsidy_rate=subsidy, compensation_rate=share, compensation_cap=cap,
        enterprise_risk_ceiling=ceiling, default_grace_days=grace,
        spending_order=list(current.spending_order) if current is not None else list(SPENDING_ORDER),
        source=(source or "").strip() or None, created_at=now)
    session.add(policy)
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("A policy version taking effect on %(date)s already exists.",
                       date=effective_from.isoformat()) from exc
    record(session, actor=staff, action="policy.added", entity_type="loan_policy", entity_id=policy.id, now=now,
           after=snapshot(policy, POLICY_FIELDS))
    return policy
