"""The regions' loan models in the plan calculator (rules, page and API), and the policy values that staff now edit
through the policy form and API: the intermediary reward and interest subsidy (the fund's full spending order) and
the validity of Jiangsu's government recommendation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.errors import InvalidInput
from market.policy.models import Policy
from market.policy.plan import evaluate_plan
from market.policy.regional import LoanModel
from market.policy.seed import SEED_POLICIES
from tests.factories import bearer

D = Decimal
BENCH = D("0.0435")
SIGNED = date(2016, 3, 1)


@pytest.fixture
def policy():
    return Policy(**SEED_POLICIES[0], created_at=datetime(2015, 1, 1))


def plan(policy, **kw):
    return evaluate_plan(policy, D("10000000"), D("0.05"), BENCH, 12, signed_on=SIGNED, **kw)


# ------------------------------------------------------------------------------------------------ rules


def test_shanghai_moves_part_of_the_guarantors_burden_to_the_counter_guarantor(policy):
    cq = plan(policy, guarantee_coverage=D("0.5"))
    sh = plan(policy, guarantee_coverage=D("0.5"), loan_model="shanghai", counter_guarantee_share=D("0.6"))
    assert (cq.shares["guarantor"], cq.shares["counter_guarantor"]) == (D("5000000.00"), D("0.00"))
    assert (sh.shares["guarantor"], sh.shares["counter_guarantor"]) == (D("2000000.00"), D("3000000.00"))
    assert sh.compensation_on_total_loss == cq.compensation_on_total_loss == D("1500000.00")  # 30 % of 5M, capped
    assert sum(v for k, v in sh.shares.items()) == D("10000000.00")
    assert sh.enterprise_share == D("0")
    own = plan(policy, guarantee_coverage=D("0.5"), loan_model="shanghai", counter_guarantee_share=D("0.6"),
               counter_by_enterprise=True)
    assert own.enterprise_cost == D("3000000.00") and not own.enterprise_within_ceiling  # 30 % > 10 %
    assert [e.code for e in own.effects] == ["counter_guarantee"]


def test_jiangsu_is_eligible_only_with_a_recommendation_on_or_before_signing_and_still_valid(policy):
    ok = plan(policy, loan_model="jiangsu", recommended_on=date(2015, 6, 1))
    assert ok.eligible and ok.compensation_on_total_loss == D("1500000.00") and ok.shares["guarantor"] == 0
    late = plan(policy, loan_model="jiangsu", recommended_on=date(2016, 4, 1))
    assert not late.eligible and [r.code for r in late.reasons] == ["recommended_after_signing"]
    assert late.compensation_on_total_loss == 0 and late.shares["bank"] == D("10000000.00")
    stale = plan(policy, loan_model="jiangsu", recommended_on=date(2015, 2, 1))  # 394 days > 365
    assert [r.code for r in stale.reasons] == ["recommendation_expired"]
    with pytest.raises(InvalidInput, match="no guarantee"):
        plan(policy, loan_model="jiangsu", recommended_on=date(2016, 1, 1), guarantee_coverage=D("0.3"))


def test_tianjin_collateral_covers_the_loss_first(policy):
    tj = plan(policy, guarantee_coverage=D("0.5"), loan_model="tianjin", collateral_value=D("4000000"))
    assert (tj.shares["collateral"], tj.shares["guarantor"]) == (D("4000000.00"), D("3000000.00"))
    assert tj.compensation_on_total_loss == D("900000.00")  # 30 % of the bank's 3M
    assert sum(tj.shares.values()) == D("10000000.00")
    with pytest.raises(InvalidInput, match="tangible"):
        plan(policy, loan_model="tianjin")
    with pytest.raises(InvalidInput, match="Only Tianjin"):
        plan(policy, collateral_value=D("1"))


def test_compare_shows_each_model_or_why_it_does_not_fit(policy):
    result = plan(policy, guarantee_coverage=D("0.5"), counter_guarantee_share=D("0.6"),
                  collateral_value=D("4000000"), compare=True)
    assert result.loan_model is LoanModel.CHONGQING and result.shares["collateral"] == 0  # extras only in `models`
    rows = {row.loan_model.value: row for row in result.models}
    assert list(rows) == ["chongqing", "shanghai", "jiangsu", "tianjin"]
    assert rows["shanghai"].result.shares["counter_guarantor"] == D("3000000.00")
    assert rows["jiangsu"].result.shares["guarantor"] == 0 and rows["jiangsu"].result.eligible
    assert rows["tianjin"].result.shares["collateral"] == D("4000000.00")
    bare = plan(policy, compare=True)
    refused = {row.loan_model.value: row.refusal for row in bare.models if row.result is None}
    assert set(refused) == {"shanghai", "tianjin"}


# ------------------------------------------------------------------------------------------------ page and API


def test_the_plan_page_shows_each_models_effect(app, client):
    form = {"loan_amount": "10000000", "annual_rate": "5", "benchmark_rate": "4.35", "term_months": "12",
            "guarantee_coverage": "50", "guarantee_premium": "0", "insurance_coverage": "0",
            "insurance_premium": "0", "signed_on": "2016-03-01", "loan_model": "tianjin",
            "counter_guarantee_share": "60", "recommended_on": "2015-12-01", "collateral_value": "4000000"}
    client.post("/language/en")
    page = client.post("/plans", data=form).get_data(as_text=True)
    assert 'data-test="models"' in page
    for model in ("chongqing", "shanghai", "jiangsu", "tianjin"):
        assert f'data-model="{model}"' in page
    assert "Combined pledge: the tangible collateral covers ¥4,000,000.00" in page
    assert "3,000,000.00" in page  # Shanghai's counter-guarantor: 60 % of the guarantor's 5M
    assert "Counter-guarantee" in page and "Relationship lending" in page
    zh = client.post("/plans", data={**form, "loan_model": "jiangsu", "guarantee_coverage": "0"})
    client.post("/language/zh_CN")
    zh = client.post("/plans", data={**form, "loan_model": "shanghai", "guarantee_coverage": "0"})
    assert "上海模式需要由担保机构承担" in zh.get_data(as_text=True)  # Shanghai needs a guarantee, in Chinese


def test_the_plan_api_gives_the_model_its_effect_and_the_comparison(app, client):
    body = {"loan_amount": "10000000", "annual_rate": "0.05", "benchmark_rate": "0.0435", "term_months": 12,
            "guarantee_coverage": "0.5", "signed_on": "2016-03-01", "loan_model": "shanghai",
            "counter_guarantee_share": "0.6"}
    data = client.post("/api/v1/plans/evaluate", json=body).get_json()
    assert data["loan_model"] == "shanghai" and data["shares"]["counter_guarantor"] == "3000000.00"
    assert data["effects"] and [m["loan_model"] for m in data["models"]] == ["chongqing", "shanghai", "jiangsu",
                                                                             "tianjin"]
    tianjin = data["models"][3]
    assert tianjin["shares"] is None and tianjin["refusal"]
    jiangsu = data["models"][2]
    assert jiangsu["eligible"] is True and jiangsu["shares"]["guarantor"] == "0.00"
    bad = client.post("/api/v1/plans/evaluate", json={**body, "loan_model": "tianjin", "collateral_value": "1e309"})
    assert bad.status_code == 422
    refused = client.post("/api/v1/plans/evaluate", json={**body, "loan_model": "jiangsu"})
    assert refused.status_code == 422 and "担保" in refused.get_json()["error"]["message"]


# ------------------------------------------------------------------------------------------------ policy values


SPENDING = {"intermediary_reward_rate": "0.003", "intermediary_reward_cap": "30000",
            "interest_subsidy_rate": "0.25", "interest_subsidy_cap": "80000", "recommendation_valid_days": 180}


def test_staff_set_the_spending_values_and_recommendation_validity_through_the_api(app, client, session, factory):
    staff = bearer(session, factory.user(Role.STAFF))
    new = {"name": "2031", "effective_from": "2031-01-01", "eligible_kinds": ["invention"],
           "rate_cap_mode": "benchmark_ratio", "rate_cap_ratio": "1.5", "premium_subsidy_rate": "0.01",
           "compensation_rate": "0.3", "compensation_cap": "1500000", "enterprise_risk_ceiling": "0.1"}
    for name, wrong in [("intermediary_reward_rate", "1.5"), ("interest_subsidy_cap", "-1"),
                        ("interest_subsidy_rate", "Infinity"), ("recommendation_valid_days", 5000)]:
        r = client.post("/api/v1/policies", json={**new, name: wrong}, headers=staff)
        assert r.status_code == 422 and name in r.get_json()["error"]["details"]["json"], (name, r.get_json())
    assert session.scalar(select(func.count()).select_from(Policy)) == 1
    r = client.post("/api/v1/policies", json={**new, **SPENDING}, headers=staff)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert (got["intermediary_reward_rate"], got["intermediary_reward_cap"], got["interest_subsidy_rate"],
            got["interest_subsidy_cap"], got["recommendation_valid_days"]) == (
        "0.003000", "30000.00", "0.250000", "80000.00", 180)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "policy.added"))
    assert entry.after["recommendation_valid_days"] == 180 and entry.after["interest_subsidy_cap"] in (
        "80000.00", 80000, "80000")
    # left out: carried over from the version in force
    later = client.post("/api/v1/policies", json={**new, "effective_from": "2032-01-01"}, headers=staff).get_json()
    assert later["interest_subsidy_rate"] == "0.250000" and later["recommendation_valid_days"] == 180


def test_staff_set_the_spending_values_through_the_policy_form(app, client, session, login_as):
    login_as(Role.STAFF)
    page = client.get("/loans/policies").get_data(as_text=True)
    assert 'name="interest_subsidy_cap"' in page and 'value="100000.00"' in page  # prefilled with the version in force
    form = {"name": "2031", "effective_from": "2031-01-01", "eligible_kinds": ["invention"],
            "rate_cap_mode": "benchmark_ratio", "rate_cap_ratio": "1.5", "premium_subsidy_rate": "1",
            "compensation_rate": "30", "compensation_cap": "1500000", "enterprise_risk_ceiling": "10",
            "default_grace_days": "90", "intermediary_reward_rate": "0.3", "intermediary_reward_cap": "30000",
            "interest_subsidy_rate": "25", "interest_subsidy_cap": "80000", "recommendation_valid_days": "180"}
    bad = client.post("/loans/policies", data={**form, "interest_subsidy_rate": "150"})
    assert bad.status_code == 200 and session.scalar(select(func.count()).select_from(Policy)) == 1
    assert "100" in bad.get_data(as_text=True)
    r = client.post("/loans/policies", data=form)
    assert r.status_code == 302
    added = session.scalars(select(Policy).order_by(Policy.effective_from.desc())).first()
    assert (added.intermediary_reward_rate, added.intermediary_reward_cap, added.interest_subsidy_rate,
            added.interest_subsidy_cap, added.recommendation_valid_days) == (
        D("0.003"), D("30000.00"), D("0.25"), D("80000.00"), 180)
    page = client.get("/loans/policies").get_data(as_text=True)
    assert 'data-test="recommendation-days"' in page and "180" in page
