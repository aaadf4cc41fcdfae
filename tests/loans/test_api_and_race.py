"""The plans API, the loans API, pages, and the race of two signings pledging the same patent."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import OrgKind, Role
from tests.conftest import NOW, PASSWORD

D = Decimal
BODY = {"loan_amount": "4000000", "annual_rate": "0.05", "benchmark_rate": "0.0435", "term_months": 12}


def test_plans_api_exact_numbers(client):
    r = client.post("/api/v1/plans/evaluate", json=BODY)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["eligible"] is True and body["reasons"] == []
    assert body["compensation_on_total_loss"] == "1200000.00"
    assert client.post("/api/v1/plans/evaluate", json={**BODY, "loan_amount": 6000000}).get_json()[
        "compensation_on_total_loss"] == "1500000.00"
    high = client.post("/api/v1/plans/evaluate", json={**BODY, "annual_rate": "0.0696"}).get_json()
    assert high["eligible"] is False and high["compensation_on_total_loss"] == "0.00" and high["reasons"]
    assert high["rate_ratio"] == "1.6000"
    sub = client.post("/api/v1/plans/evaluate", json={**BODY, "loan_amount": "10000000", "guarantee_coverage": 0.5,
                                                      "guarantee_premium": "150000"}).get_json()
    assert sub["premium_subsidy"] == "100000.00"
    assert set(sub["shares"]) >= {"government", "guarantor", "insurer", "bank", "enterprise"}


def test_plans_api_float_amount_is_not_rounded_through_float(client):
    body = client.post("/api/v1/plans/evaluate", json={**BODY, "loan_amount": 4999999.99}).get_json()
    assert body["compensation_on_total_loss"] == "1500000.00"


@pytest.mark.parametrize("bad", [
    {"loan_amount": "abc"}, {"loan_amount": None}, {"term_months": "x"}, {"term_months": 0},
    {"annual_rate": "NaN"}, {"guarantee_coverage": 2}, {"loan_amount": "-5"}, {"loan_amount": "1.001"},
    {"insurance_premium": "100"},
])
def test_plans_api_bad_input_is_422(client, bad):
    r = client.post("/api/v1/plans/evaluate", json={**BODY, **bad})
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["message"]


def test_plans_api_missing_field_and_non_json(client):
    assert client.post("/api/v1/plans/evaluate", json={"loan_amount": "1"}).status_code == 422
    assert client.post("/api/v1/plans/evaluate", data="x", content_type="application/json").status_code in (400, 422)


def test_plans_page_public(client):
    assert client.get("/plans").status_code == 200
    # the web form takes rates in per cent (the API in fractions)
    r = client.post("/plans", data={**BODY, "annual_rate": "5", "benchmark_rate": "4.35", "guarantee_coverage": "0",
                                    "guarantee_premium": "0", "insurance_coverage": "0", "insurance_premium": "0"})
    assert r.status_code == 200 and "1,200,000.00" in r.get_data(as_text=True)


def _token(client, user):
    r = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_loans_api_flow(client, world):
    from tests.factories import enterprise_user

    bank = _token(client, world.bank_user)
    staff = _token(client, world.staff)
    ent = _token(client, enterprise_user(world.session, world.enterprise))
    world.session.commit()
    asset = world.asset()
    payload = {"enterprise_org_id": world.enterprise.id, "principal": "8000000", "annual_rate": "0.05",
               "term_months": 12, "asset_ids": [asset.id], "signed_on": "2016-03-01",
               "registration_number": "X2016500000999"}
    r = client.post("/api/v1/loans", json=payload, headers=bank)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "pending" and r.get_json()["pledges"] == []
    loan_id = r.get_json()["id"]
    r = client.post(f"/api/v1/loans/{loan_id}/confirm", headers=ent)
    assert r.status_code == 200 and r.get_json()["status"] == "active" and r.get_json()["consent"] == "confirmed"
    assert client.post(f"/api/v1/loans/{loan_id}/confirm", headers=ent).status_code == 409
    assert client.post("/api/v1/loans", json=payload, headers=bank).status_code == 409  # the asset is pledged now
    assert client.post("/api/v1/loans", json={**payload, "principal": "x"}, headers=bank).status_code == 422
    assert client.post("/api/v1/loans", json=payload, headers=staff).status_code == 403
    assert client.get("/api/v1/loans", headers={}).status_code == 401
    assert len(client.get(f"/api/v1/loans/{loan_id}", headers=bank).get_json()["schedule"]) == 12
    r = client.post(f"/api/v1/loans/{loan_id}/repayments", json={"paid_on": "2016-04-01", "principal": "2000000"},
                    headers=bank)
    assert r.status_code == 201 and r.get_json()["outstanding_principal"] == "6000000.00"
    assert client.post(f"/api/v1/loans/{loan_id}/default", json={}, headers=bank).status_code == 422
    r = client.post(f"/api/v1/loans/{loan_id}/default", json={"reason": "连续逾期"}, headers=bank)
    assert r.get_json()["status"] == "defaulted" and r.get_json()["default_basis"] == "overdue"
    assert client.post(f"/api/v1/loans/{loan_id}/claim", json={"recovery": "0"}, headers=bank).status_code == 422
    r = client.post(f"/api/v1/loans/{loan_id}/claim", json={"recovery": "0", "evidence": "(2016)渝01民初1号判决"},
                    headers=bank)
    assert r.status_code == 201 and r.get_json()["compensation"] == "1500000.00"
    claim_id = r.get_json()["id"]
    assert client.post(f"/api/v1/claims/{claim_id}/approve", headers=bank).status_code == 403
    assert client.post(f"/api/v1/claims/{claim_id}/approve", headers=staff).status_code == 409  # not verified
    assert client.post(f"/api/v1/claims/{claim_id}/verify-recovery", headers=staff).status_code == 200
    assert client.post(f"/api/v1/claims/{claim_id}/approve", headers=staff).get_json()["status"] == "paid"
    assert client.post(f"/api/v1/claims/{claim_id}/approve", headers=staff).status_code == 409
    assert client.get("/api/v1/fund", headers=staff).get_json()["balance"] == "23500000.00"


def test_pages_render(client, world):
    from tests.conftest import login

    loan = world.loan()
    login(client, world.bank_user)
    for url in ("/loans/", "/loans/new", f"/loans/{loan.id}"):
        assert client.get(url).status_code == 200, url
    client.post("/logout")
    login(client, world.staff)
    for url in ("/loans/claims", "/loans/fund", "/loans/rates", f"/loans/{loan.id}", "/notices/"):
        assert client.get(url).status_code == 200, url


def _race(app):
    """Two banks recorded a loan on the same patent; the enterprise's two users confirm both at the same moment:
    exactly one takes effect, the other is refused, and the patent has one active pledge."""
    from market.db import db
    from market.loans.signing import confirm_loan, sign_loan
    from tests.conftest import Factory
    from tests.factories import make_asset, run_together

    with app.app_context():
        f = Factory(db.session)
        banks = [f.user(Role.BANK), f.user(Role.BANK)]
        ent = f.org(OrgKind.ENTERPRISE)
        users = [f.user(Role.ENTERPRISE, org=ent), f.user(Role.ENTERPRISE, org=ent)]
        asset = make_asset(db.session, ent)
        loans = {}
        for bank, user in zip(banks, users, strict=True):
            loans[user.id] = sign_loan(db.session, bank, enterprise_org_id=ent.id, principal=D("1000000"),
                                       annual_rate=D("0.05"), term_months=12, asset_ids=[asset.id],
                                       signed_on=date(2016, 3, 1), now=NOW, registration_number=f"R{bank.id}").id
        db.session.commit()
        asset_id = asset.id

    def confirm(session, user):
        confirm_loan(session, user, loans[user.id], NOW)

    outcomes = run_together(app, list(loans), confirm)
    with app.app_context():
        from sqlalchemy import func, select

        from market.ip.models import IpAsset
        from market.loans.models import Pledge

        active = db.session.scalar(select(func.count()).select_from(Pledge).where(Pledge.asset_id == asset_id,
                                                                                 Pledge.active))
        state = db.session.get(IpAsset, asset_id).pledge_state
    return outcomes, active, state


def test_two_signings_race_sqlite(make_app):
    from market.ip.models import PledgeState

    outcomes, active, state = _race(make_app())
    assert outcomes.count("ok") == 1, outcomes
    assert active == 1 and state is PledgeState.PLEDGED


@pytest.mark.skipif(not os.environ.get("MARKET_TEST_POSTGRESQL_URL"), reason="PostgreSQL not configured")
def test_two_signings_race_postgresql(make_app):
    from market.ip.models import PledgeState

    outcomes, active, state = _race(make_app(url=os.environ["MARKET_TEST_POSTGRESQL_URL"]))
    assert outcomes.count("ok") == 1, outcomes
    assert outcomes.count("Conflict") == 1, outcomes
    assert active == 1 and state is PledgeState.PLEDGED
