"""Staff add policy versions (no overlapping dates); loans and the calculator use the version in force."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import Role
from market.errors import Conflict, Forbidden, InvalidInput
from market.policy.models import RateCapMode
from market.policy.service import add_policy, policy_in_force, policy_versions
from tests.conftest import NOW, login

SPEC = dict(name="2027年修订版", eligible_kinds=["invention", "utility_model", "trademark"],
            rate_cap_mode=RateCapMode.BENCHMARK_RATIO, rate_cap_ratio=Decimal("1.3"),
            premium_subsidy_rate=Decimal("0.008"), compensation_rate=Decimal("0.25"),
            compensation_cap=Decimal("1000000"), enterprise_risk_ceiling=Decimal("0.10"))


def test_add_version_ends_the_previous_and_applies_from_its_date(session, world):
    seed = policy_in_force(session, date(2026, 6, 1))
    new = add_policy(session, world.staff, effective_from=date(2040, 1, 1), now=NOW, **SPEC)
    assert seed.effective_to == date(2039, 12, 31)
    assert policy_in_force(session, date(2039, 12, 31)).id == seed.id
    assert policy_in_force(session, date(2040, 1, 1)).id == new.id
    assert new.code == "v20400101" and new.spending_order == seed.spending_order
    assert policy_versions(session)[0].id == new.id
    # a loan signed under the new version is judged by it: 1.4 × benchmark is above its 130 % cap
    loan = world.loan(rate="0.0609", signed_on=date(2040, 2, 1))
    assert loan.policy_id == new.id and loan.rate_within_cap is False
    old_loan = world.loan(rate="0.0609", signed_on=date(2039, 6, 1))
    assert old_loan.policy_id == seed.id and old_loan.rate_within_cap is True


def test_overlapping_dates_are_refused(session, world):
    policy_in_force(session, date(2026, 6, 1))
    add_policy(session, world.staff, effective_from=date(2041, 1, 1), now=NOW, **SPEC)
    for day in (date(2041, 1, 1), date(2030, 5, 1), date(2015, 1, 1)):
        with pytest.raises(Conflict):
            add_policy(session, world.staff, effective_from=day, now=NOW, **SPEC)
    with pytest.raises(Forbidden):
        add_policy(session, world.bank_user, effective_from=date(2042, 1, 1), now=NOW, **SPEC)
    with pytest.raises(InvalidInput):
        add_policy(session, world.staff, effective_from=date(2042, 1, 1), now=NOW, **{**SPEC, "eligible_kinds": []})
    with pytest.raises(InvalidInput):
        add_policy(session, world.staff, effective_from=date(2042, 1, 1), now=NOW,
                   **{**SPEC, "compensation_rate": Decimal("1.5")})
    lpr = add_policy(session, world.staff, effective_from=date(2042, 1, 1), now=NOW,
                     **{**SPEC, "rate_cap_mode": "lpr_spread", "rate_cap_ratio": None, "rate_cap_spread_bp": 150})
    assert lpr.rate_cap_mode is RateCapMode.LPR_SPREAD and lpr.rate_cap_spread_bp == 150


def test_staff_page_and_calculator_show_the_version(client, session, factory):
    staff = factory.user(Role.STAFF)
    login(client, staff)
    page = client.get("/loans/policies").get_data(as_text=True)
    assert "cq-2015" in page
    data = {"name": "测试版本", "effective_from": "2043-01-01", "eligible_kinds": ["invention", "design"],
            "rate_cap_mode": "benchmark_ratio", "rate_cap_ratio": "1.4", "premium_subsidy_rate": "1",
            "compensation_rate": "30", "compensation_cap": "1500000", "enterprise_risk_ceiling": "10"}  # per cent
    response = client.post("/loans/policies", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    added = next(p for p in policy_versions(session) if p.name == "测试版本")
    assert (added.premium_subsidy_rate, added.compensation_rate, added.enterprise_risk_ceiling) == (
        Decimal("0.01"), Decimal("0.3"), Decimal("0.1"))
    again = client.post("/loans/policies", data=data, follow_redirects=True).get_data(as_text=True)
    assert "v20430101" in again and "2043-01-01" in again
    assert client.post("/loans/policies", data={**data, "effective_from": "2043-01-01"}).status_code == 200
    page = client.post("/plans", data={"loan_amount": "1000000", "annual_rate": "5", "benchmark_rate": "4.35",
                                       "term_months": "12", "signed_on": "2043-02-01"}).get_data(as_text=True)
    assert "v20430101" in page and "测试版本" in page
    page = client.get("/plans").get_data(as_text=True)
    assert 'data-test="policy-used"' in page and "cq-2015" in page
    client.post("/logout")
    login(client, factory.user(Role.BANK))
    assert client.get("/loans/policies").status_code in (403, 404)
