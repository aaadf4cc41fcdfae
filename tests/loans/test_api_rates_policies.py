"""The rate table and the policy versions through the API: reads for any signed-in user, staff additions (audited),
refusals that keep nothing, and a new version applying to plans dated after it."""

from __future__ import annotations

from sqlalchemy import func, select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.policy.models import Policy, ReferenceRate
from tests.factories import bearer


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def actions(session, action: str) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_rates_read_by_any_user_and_kept_by_staff(client, session, factory):
    assert client.get("/api/v1/rates").status_code == 401
    reader = bearer(session, factory.user(Role.BIDDER))
    r = client.get("/api/v1/rates?on=2016-03-01", headers=reader)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["in_force"]["pbc_benchmark_1y"] == "0.043500" and "lpr_1y" not in body["in_force"]
    assert {x["kind"] for x in body["items"]} == {"pbc_benchmark_1y", "lpr_1y"}
    assert client.get("/api/v1/rates?on=2099-13-01", headers=reader).status_code == 422
    staff = bearer(session, factory.user(Role.STAFF))
    rows = count(session, ReferenceRate)
    new = {"kind": "lpr_1y", "effective_on": "2030-01-20", "rate": "0.0290", "source": "NIFC"}
    assert client.post("/api/v1/rates", json=new, headers=bearer(session, factory.user(Role.BANK))).status_code == 403
    assert client.post("/api/v1/rates", json={**new, "rate": "0"}, headers=staff).status_code == 422
    assert client.post("/api/v1/rates", json={**new, "kind": "shibor"}, headers=staff).status_code == 422
    assert count(session, ReferenceRate) == rows and actions(session, "rate.added") == 0
    r = client.post("/api/v1/rates", json=new, headers=staff)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["rate"] == "0.029000" and r.get_json()["effective_on"] == "2030-01-20"
    assert actions(session, "rate.added") == 1
    again = client.post("/api/v1/rates", json=new, headers=staff)
    assert again.status_code == 409 and again.get_json()["error"]["message"]
    assert client.get("/api/v1/rates?on=2030-02-01", headers=reader).get_json()["in_force"]["lpr_1y"] == "0.029000"


def test_policy_versions_read_by_any_user_and_added_by_staff(client, session, factory):
    assert client.get("/api/v1/policies").status_code == 401
    reader = bearer(session, factory.user(Role.ENTERPRISE))
    body = client.get("/api/v1/policies", headers=reader).get_json()
    current = body["in_force"]
    assert current["compensation_rate"] == "0.300000" and current["compensation_cap"] == "1500000.00"
    assert current["rate_cap_ratio"] == "1.500000" and current["effective_to"] is None
    staff = bearer(session, factory.user(Role.STAFF))
    new = {"name": "2030 version", "effective_from": "2030-01-01", "eligible_kinds": ["invention", "trademark"],
           "rate_cap_mode": "benchmark_ratio", "rate_cap_ratio": "1.3", "premium_subsidy_rate": "0.01",
           "compensation_rate": "0.4", "compensation_cap": "2000000", "enterprise_risk_ceiling": "0.1"}
    versions = count(session, Policy)
    bank = bearer(session, factory.user(Role.BANK))
    assert client.post("/api/v1/policies", json=new, headers=bank).status_code == 403
    assert client.post("/api/v1/policies", json={**new, "rate_cap_ratio": "9"}, headers=staff).status_code == 422
    assert client.post("/api/v1/policies", json={**new, "eligible_kinds": ["gold"]}, headers=staff).status_code == 422
    lpr = client.post("/api/v1/policies", json={**new, "rate_cap_mode": "lpr_spread"}, headers=staff)
    assert lpr.status_code == 422 and lpr.get_json()["error"]["message"]  # LPR mode needs a spread
    overlap = client.post("/api/v1/policies", json={**new, "effective_from": current["effective_from"]},
                          headers=staff)
    assert overlap.status_code == 409
    assert count(session, Policy) == versions and actions(session, "policy.added") == 0
    r = client.post("/api/v1/policies", json=new, headers=staff)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["code"] == "v20300101" and r.get_json()["eligible_kinds"] == ["invention", "trademark"]
    assert actions(session, "policy.added") == 1 and actions(session, "policy.ended") == 1
    items = client.get("/api/v1/policies", headers=reader).get_json()["items"]
    assert items[0]["code"] == "v20300101" and items[1]["effective_to"] == "2029-12-31"
    plan = {"loan_amount": "4000000", "annual_rate": "0.05", "benchmark_rate": "0.0435", "term_months": 12}
    later = client.post("/api/v1/plans/evaluate", json={**plan, "signed_on": "2030-06-01"}).get_json()
    assert later["policy"] == "v20300101" and later["compensation_on_total_loss"] == "1600000.00"
    today = client.post("/api/v1/plans/evaluate", json=plan).get_json()
    assert today["policy"] == current["code"] and today["compensation_on_total_loss"] == "1200000.00"
