"""The seed rows: the 2015 Chongqing policy version and the reference rates the author is sure of.

Written at set-up time only (`market init-db`, `market demo`, the tests' database build, all through
`market.bootstrap.init_db`), never on a read: a GET never writes.

Rates: the People's Bank of China 1-year benchmark lending rate (贷款基准利率, 一年以内含一年) from 2012 on, last
changed 2015-10-24 to 4.35 %, and the 1-year Loan Prime Rate (贷款市场报价利率, published by the National Interbank
Funding Center since the reform of 2019-08-20). Staff add later rows.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.policy.kinds import MEASURES_2015_KINDS, IpKind
from market.policy.models import BENCHMARK_1Y, LPR_1Y, Policy, RateCapMode, ReferenceRate

DEFAULT_GRACE_DAYS = 90  # the five-category classification: more than 90 days overdue is non-performing (次级)
# The paper's order: 信用增级为第一，不良补偿为第二，中介奖励为第三，企业贴息为第四.
DEFAULT_RECOMMENDATION_DAYS = 365
SPENDING_ORDER = ["credit_enhancement", "bad_loan_compensation", "intermediary_rewards", "enterprise_interest_subsidy"]

SEED_POLICIES = [
    {
        "code": "cq-2015",
        "name": "重庆市知识产权质押融资风险补偿（2015）",
        "effective_from": date(2015, 1, 1),
        "effective_to": None,
        "eligible_kinds": [k.value for k in IpKind if k in MEASURES_2015_KINDS],
        "rate_cap_mode": RateCapMode.BENCHMARK_RATIO,
        "rate_cap_ratio": Decimal("1.5"),
        "rate_cap_spread_bp": None,
        "premium_subsidy_rate": Decimal("0.01"),
        "compensation_rate": Decimal("0.30"),
        "compensation_cap": Decimal("1500000.00"),
        "enterprise_risk_ceiling": Decimal("0.10"),
        "default_grace_days": DEFAULT_GRACE_DAYS,
        "spending_order": SPENDING_ORDER,
        # The paper names intermediary rewards and the enterprise interest subsidy but gives no figures: these are
        # the market's starting values, which staff replace with a new version.
        "intermediary_reward_rate": Decimal("0.002"),
        "intermediary_reward_cap": Decimal("20000.00"),
        "interest_subsidy_rate": Decimal("0.30"),
        "interest_subsidy_cap": Decimal("100000.00"),
        # Jiangsu's relationship lending (a loan model): how old a government recommendation may be on the signing
        # day for the loan to be compensated. Not in the paper either: staff set it per version.
        "recommendation_valid_days": DEFAULT_RECOMMENDATION_DAYS,
        "source": "Chongqing 2015 measures as summarised in shared/reference/chongqing-ip-pledge-financing.zh.txt "
        "(effective date of the version approximated to 2015-01-01; staff may correct it)",
    }
]

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


def seed_policy(session: Session, now: datetime) -> dict[str, int]:
    """Insert the seed versions and rates that are missing (idempotent; never overwrites staff edits, and adds no
    seed version once staff keep versions of their own). Flushes; the caller commits. Returns rows added."""
    added = {"policy": 0, "reference_rate": 0}
    if session.scalar(select(Policy.id).limit(1)) is None:
        for spec in SEED_POLICIES:
            session.add(Policy(**spec, created_at=now))
            added["policy"] += 1
    existing = {(kind, on) for kind, on in session.execute(select(ReferenceRate.kind, ReferenceRate.effective_on))}
    for kind, on, rate, source in SEED_RATES:
        if (kind, on) not in existing:
            session.add(ReferenceRate(kind=kind, effective_on=on, rate=Decimal(rate), source=source, created_at=now))
            added["reference_rate"] += 1
    session.flush()
    return added
