"""The policy engine and the financing-plan calculator, with the exact numbers of the 2015 Chongqing measures."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from market.errors import InvalidInput
from market.policy.models import Policy, RateCapMode
from market.policy.plan import evaluate_plan
from market.policy.seed import SEED_POLICIES
from market.policy.service import benchmark_on, lpr_on, policy_in_force

D = Decimal
BENCH = D("0.0435")


@pytest.fixture
def policy():
    return Policy(**SEED_POLICIES[0], created_at=datetime(2015, 1, 1))


RATE = D("0.0500")


def total_loss_plan(policy, amount, rate=RATE, **kw):
    return evaluate_plan(policy, D(amount), rate, BENCH, 12, **kw)


def test_loss_4m_within_cap_compensates_1_2m(policy):
    result = total_loss_plan(policy, "4000000")
    assert result.eligible and result.reasons == []
    assert result.compensation_on_total_loss == D("1200000.00")


def test_loss_6m_is_capped_at_1_5m(policy):
    assert total_loss_plan(policy, "6000000").compensation_on_total_loss == D("1500000.00")


def test_cap_boundary_of_1_5m_is_exactly_5m_loss(policy):
    assert total_loss_plan(policy, "5000000").compensation_on_total_loss == D("1500000.00")
    assert total_loss_plan(policy, "4999999.99").compensation_on_total_loss == D("1500000.00")  # 1,499,999.997 → .00
    assert total_loss_plan(policy, "4999999.98").compensation_on_total_loss == D("1499999.99")  # .994 rounds down


def test_rate_1_6_times_benchmark_gets_no_compensation(policy):
    result = total_loss_plan(policy, "4000000", rate=BENCH * D("1.6"))
    assert not result.eligible
    assert result.compensation_on_total_loss == D("0.00")
    assert result.rate_ratio == D("1.6000")
    assert [r.code for r in result.reasons] == ["rate_above_cap"]
    assert "150%" in result.reasons[0].localized()


def test_rate_exactly_150_percent_is_within_cap(policy):
    result = total_loss_plan(policy, "4000000", rate=D("0.06525"))  # 1.5 × 4.35 %
    assert result.eligible and result.rate_ratio == D("1.5000")
    assert result.compensation_on_total_loss == D("1200000.00")
    just_above = total_loss_plan(policy, "4000000", rate=D("0.065251"))
    assert not just_above.eligible and just_above.compensation_on_total_loss == 0


def test_premium_150k_on_10m_is_subsidised_100k(policy):
    result = evaluate_plan(policy, D("10000000"), D("0.05"), BENCH, 12, guarantee_coverage=D("0.5"),
                           guarantee_premium=D("150000"))
    assert result.premium_subsidy == D("100000.00")
    assert result.premium_subsidy_guarantor == D("100000.00")


def test_premium_subsidy_cap_is_per_loan_across_guarantee_and_insurance(policy):
    result = evaluate_plan(policy, D("10000000"), D("0.05"), BENCH, 12, guarantee_coverage=D("0.4"),
                           guarantee_premium=D("60000"), insurance_coverage=D("0.3"), insurance_premium=D("90000"))
    assert result.premium_subsidy == D("100000.00")  # not 60,000 + 90,000 capped separately (=160,000)
    assert result.premium_subsidy_guarantor == D("40000.00")
    assert result.premium_subsidy_insurer == D("60000.00")
    small = evaluate_plan(policy, D("10000000"), D("0.05"), BENCH, 12, guarantee_coverage=D("0.4"),
                          guarantee_premium=D("30000"), insurance_coverage=D("0.3"), insurance_premium=D("20000"))
    assert small.premium_subsidy == D("50000.00")


def test_shares_of_total_loss_with_guarantor_and_insurer(policy):
    result = evaluate_plan(policy, D("10000000"), D("0.05"), BENCH, 12, guarantee_coverage=D("0.3"),
                           guarantee_premium=D("100000"), insurance_coverage=D("0.3"), insurance_premium=D("50000"))
    shares = result.shares
    assert shares["guarantor"] == D("3000000.00") and shares["insurer"] == D("3000000.00")
    assert shares["government"] == D("1200000.00")  # 30 % of the bank's remaining 4,000,000
    assert shares["bank"] == D("2800000.00") and shares["enterprise"] == D("0.00")
    assert sum(shares.values()) == D("10000000.00")
    # the enterprise pays 150,000 of premiums, 100,000 subsidised: 50,000 = 0.5 % of the loan
    assert result.enterprise_cost == D("50000.00") and result.enterprise_share == D("0.0050")
    assert result.enterprise_within_ceiling


def test_enterprise_ceiling_of_10_percent(policy):
    at = evaluate_plan(policy, D("1000000"), D("0.05"), BENCH, 12, enterprise_coverage=D("0.10"))
    assert at.enterprise_within_ceiling and at.warnings == []
    above = evaluate_plan(policy, D("1000000"), D("0.05"), BENCH, 12, enterprise_coverage=D("0.11"))
    assert not above.enterprise_within_ceiling and above.warnings[0].code == "enterprise_above_ceiling"


@pytest.mark.parametrize("kwargs", [
    {"loan_amount": "-1"}, {"loan_amount": "abc"}, {"loan_amount": "1.001"}, {"annual_rate": "0"},
    {"annual_rate": "4.35"}, {"term_months": 0}, {"term_months": 1.5}, {"guarantee_coverage": "1.2"},
    {"guarantee_coverage": "0.6", "insurance_coverage": "0.6"},
    {"guarantee_premium": "-5", "guarantee_coverage": "0.5"},
    {"insurance_premium": "100"}, {"loan_amount": "NaN"},
])
def test_bad_input_is_invalid(policy, kwargs):
    args = {"loan_amount": "1000000", "annual_rate": "0.05", "benchmark_rate": "0.0435", "term_months": 12, **kwargs}
    with pytest.raises(InvalidInput):
        evaluate_plan(policy, **args)


def test_lpr_spread_mode(policy):
    policy.rate_cap_mode = RateCapMode.LPR_SPREAD
    policy.rate_cap_spread_bp = 300
    lpr = D("0.0310")
    assert evaluate_plan(policy, D("4000000"), D("0.0610"), lpr, 12).eligible
    late = evaluate_plan(policy, D("4000000"), D("0.0611"), lpr, 12)
    assert not late.eligible and "300" in late.reasons[0].localized()


def test_policy_versions_by_date(session):
    first = policy_in_force(session, date(2016, 5, 1))
    assert first.code == "cq-2015"
    assert first.compensation_cap == D("1500000.00") and first.rate_cap_ratio == D("1.5")
    assert set(first.eligible_kinds) == {"invention", "utility_model", "design", "ic_layout"}
    newer = Policy(**{**SEED_POLICIES[0], "code": "cq-2021", "effective_from": date(2021, 1, 1),
                      "compensation_cap": D("2000000"), "eligible_kinds": [*SEED_POLICIES[0]["eligible_kinds"],
                                                                            "trademark"]},
                   created_at=datetime(2020, 12, 1))
    session.add(newer)
    session.flush()
    assert policy_in_force(session, date(2020, 12, 31)).code == "cq-2015"
    assert policy_in_force(session, date(2021, 1, 1)).code == "cq-2021"


def test_benchmark_and_lpr_history(session):
    assert benchmark_on(session, date(2015, 10, 23)) == D("0.0460")
    assert benchmark_on(session, date(2015, 10, 24)) == D("0.0435")
    assert benchmark_on(session, date(2026, 1, 1)) == D("0.0435")
    assert lpr_on(session, date(2019, 8, 20)) == D("0.0425")
    assert lpr_on(session, date(2024, 10, 20)) == D("0.0335")
    assert lpr_on(session, date(2025, 6, 1)) == D("0.0300")
