"""Reading and keeping the policy: the version in force on a day, the rate in force on a day, and staff adding
versions and rates. Reads never write (the seed is written at set-up, see `market.policy.seed`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.audit.service import record, snapshot
from market.bounded import AMOUNT_OR_ZERO, REFERENCE_RATE, SHARE, within
from market.db import insert_unique, lock_rows
from market.errors import Conflict, InvalidInput, NotFound
from market.policy.kinds import MEASURES_2015_KINDS, IpKind
from market.policy.labels import rate_kind
from market.policy.models import BENCHMARK_1Y, LPR_1Y, RATE_KINDS, Policy, RateCapMode, ReferenceRate
from market.policy.regional import MAX_RECOMMENDATION_DAYS
from market.policy.rules import as_decimal, money
from market.policy.seed import DEFAULT_GRACE_DAYS, DEFAULT_RECOMMENDATION_DAYS, SEED_POLICIES, SPENDING_ORDER
from market.security import require

MAX_GRACE_DAYS = 365
SPENDING_FIELDS = {"intermediary_reward_rate": SHARE, "intermediary_reward_cap": AMOUNT_OR_ZERO,
                   "interest_subsidy_rate": SHARE, "interest_subsidy_cap": AMOUNT_OR_ZERO}
POLICY_FIELDS = ["code", "name", "effective_from", "effective_to", "eligible_kinds", "rate_cap_mode", "rate_cap_ratio",
                 "rate_cap_spread_bp", "premium_subsidy_rate", "compensation_rate", "compensation_cap",
                 "enterprise_risk_ceiling", "default_grace_days", *SPENDING_FIELDS, "recommendation_valid_days"]


def _spending_values(given: dict, current: Policy | None) -> dict[str, Decimal]:
    """The third and fourth spending values of a new version: each given one within its bound, the others those of
    the version in force (or the seed's)."""
    unknown = set(given) - set(SPENDING_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy values: {sorted(unknown)}")
    values = {}
    for name, bound in SPENDING_FIELDS.items():
        value = given.get(name)
        if value is None:
            value = getattr(current, name) if current is not None else SEED_POLICIES[0][name]
        elif not within(bound, value):
            raise InvalidInput("%(name)s is outside its range %(range)s.", name=name, range=bound.describe())
        values[name] = Decimal(value)
    return values


def policy_in_force(session: Session, on: date) -> Policy:
    """The policy version in force on `on`: the one query every area asks (404 when none is)."""
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


def kinds_in_force(session: Session, on: date) -> frozenset[IpKind]:
    """The IP kinds the policy in force on `on` accepts as pledges (the 2015 measures' kinds on a day no version
    covers, e.g. before the first one)."""
    try:
        return accepted_kinds(policy_in_force(session, on))
    except NotFound:
        return MEASURES_2015_KINDS


def accepted_kinds(policy: Policy) -> frozenset[IpKind]:
    """The IP kinds a policy version accepts as pledges."""
    known = {k.value for k in IpKind}
    return frozenset(IpKind(k) for k in policy.eligible_kinds or [] if k in known)


def policy_versions(session: Session) -> list[Policy]:
    return list(session.scalars(select(Policy).order_by(Policy.effective_from.desc(), Policy.id.desc())))


def add_policy(session: Session, staff, *, name: str, effective_from: date, eligible_kinds: list[str],
               rate_cap_mode: RateCapMode | str, rate_cap_ratio=None, rate_cap_spread_bp: int | None = None,
               premium_subsidy_rate, compensation_rate, compensation_cap, enterprise_risk_ceiling, now: datetime,
               source: str | None = None, default_grace_days: int | None = DEFAULT_GRACE_DAYS,
               recommendation_valid_days: int | None = None, **spending) -> Policy:
    """Staff add a new policy version taking effect on `effective_from`. Versions follow each other in time: the
    date must lie after the start of every existing version and outside any version's closed period (an overlapping
    date is refused); the version in force until then ends the day before. Loans keep the version they were signed
    under, so a new version never changes an existing loan. `spending`: the intermediary reward and interest
    subsidy values (SPENDING_FIELDS); each one not given (None) carries over from the version in force until then,
    and so does `recommendation_valid_days` (Jiangsu's relationship lending, `market.policy.regional`)."""
    require(staff, Role.STAFF)
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
    days = recommendation_valid_days
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 0 <= days <= MAX_RECOMMENDATION_DAYS):
        raise InvalidInput("A government recommendation stays valid 0 to %(max)s days.", max=MAX_RECOMMENDATION_DAYS)

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
    spending_values = _spending_values(spending, current)
    if days is None:
        days = current.recommendation_valid_days if current is not None else DEFAULT_RECOMMENDATION_DAYS
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
        enterprise_risk_ceiling=ceiling, default_grace_days=grace, recommendation_valid_days=days,
        spending_order=list(current.spending_order) if current is not None else list(SPENDING_ORDER),
        source=(source or "").strip() or None, created_at=now, **spending_values)
    insert_unique(session, policy, Conflict("A policy version taking effect on %(date)s already exists.",
                                            date=effective_from.isoformat()))
    record(session, actor=staff, action="policy.added", entity_type="loan_policy", entity_id=policy.id, now=now,
           after=snapshot(policy, POLICY_FIELDS))
    return policy


# ------------------------------------------------------------------------------------------------ rates


def rate_on(session: Session, kind: str, on: date) -> Decimal:
    """The rate of `kind` in force on `on` (404 when none is known by then)."""
    row = session.scalars(
        select(ReferenceRate).where(ReferenceRate.kind == kind, ReferenceRate.effective_on <= on)
        .order_by(ReferenceRate.effective_on.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound("No %(kind)s rate is known on %(date)s.", kind=rate_kind(kind), date=on.isoformat())
    return Decimal(row.rate)


def benchmark_on(session: Session, on: date) -> Decimal:
    """The PBoC 1-year benchmark lending rate in force on `on`."""
    return rate_on(session, BENCHMARK_1Y, on)


def lpr_on(session: Session, on: date) -> Decimal:
    return rate_on(session, LPR_1Y, on)


def rate_table(session: Session) -> list[ReferenceRate]:
    return list(session.scalars(select(ReferenceRate).order_by(ReferenceRate.kind, ReferenceRate.effective_on.desc())))


def add_rate(session: Session, actor, *, kind: str, effective_on: date, rate: Decimal, source: str | None,
             now: datetime) -> ReferenceRate:
    require(actor, Role.STAFF, message="Only exchange staff keep the rate table.")
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
