"""The loans API beyond signing: one claim by id, claim rejection, the schedule as of a day with what is paid and
overdue, the repayments list, the premium subsidy, the fund ledger, who may read what, and refusals that keep
nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import OrgKind, Role
from market.audit.models import AuditEntry
from market.loans import claims, default, repayments, schedule
from market.loans.models import CompensationClaim, LedgerTxn, Repayment
from tests.conftest import NOW
from tests.factories import bearer


def audits(session, action: str, entity_id) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.entity_id == str(entity_id)))


@pytest.fixture
def claimed(session, world):
    """A loan of ¥4,000,000 defaulted with nothing recovered: its claim (30 % of the loss) waits for staff."""
    loan = world.loan()
    default.declare_default(session, world.bank_user, loan.id, NOW, reason="逾期未还")
    claim = claims.record_recovery(session, world.bank_user, loan.id, Decimal("0"), NOW, evidence="处置回收凭证")
    claims.verify_recovery(session, world.staff, claim.id, NOW)
    session.commit()
    return loan, claim


def test_one_claim_for_its_bank_and_staff_only(client, session, factory, world, claimed):
    loan, claim = claimed
    url = f"/api/v1/claims/{claim.id}"
    for user in (world.bank_user, world.staff):
        r = client.get(url, headers=bearer(session, user))
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert body["id"] == claim.id and body["loan_id"] == loan.id and body["status"] == "submitted"
        assert body["compensation"] == "1200000.00" and body["loss"] == "4000000.00"
        assert body["approved_at"] is None and body["created_at"].endswith("+00:00")
    other_bank = factory.user(Role.BANK)
    r = client.get(url, headers=bearer(session, other_bank))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert client.get(url, headers=bearer(session, factory.user(Role.ENTERPRISE))).status_code == 403
    assert client.get("/api/v1/claims/987654", headers=bearer(session, world.staff)).status_code == 404
    assert client.get(url).status_code == 401
    # the list of the other bank does not show it either
    assert client.get("/api/v1/claims", headers=bearer(session, other_bank)).get_json()["items"] == []


def test_staff_reject_a_claim_once_and_audited(client, session, world, claimed):
    _loan, claim = claimed
    url = f"/api/v1/claims/{claim.id}/reject"
    reason = {"reason": "回收金额与判决不符"}
    r = client.post(url, json=reason, headers=bearer(session, world.bank_user))
    assert r.status_code == 403
    session.refresh(claim)
    assert claim.status.value == "submitted" and audits(session, "claim.rejected", claim.id) == 0
    assert client.post(url, json={"reason": ""}, headers=bearer(session, world.staff)).status_code == 422
    r = client.post(url, json=reason, headers=bearer(session, world.staff))
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    assert r.get_json()["decision_reason"] == "回收金额与判决不符"
    assert audits(session, "claim.rejected", claim.id) == 1
    again = client.post(url, json=reason, headers=bearer(session, world.staff))
    assert again.status_code == 409 and again.get_json()["error"]["message"]
    approve = client.post(f"/api/v1/claims/{claim.id}/approve", headers=bearer(session, world.staff))
    assert approve.status_code == 409
    session.refresh(claim)
    assert claim.status.value == "rejected" and claim.paid_at is None


def test_schedule_as_of_a_day_applies_repayments_oldest_first(client, session, world):
    # 4,000,000 at 5 % over 12 months, equal principal, signed 2016-03-01: instalments due on the 1st of each month
    loan = world.loan()
    repayments.record_repayment(session, world.bank_user, loan.id, paid_on=date(2016, 4, 1),
                                principal=Decimal("333333.33"), interest=Decimal("16666.67"), now=NOW)
    repayments.record_repayment(session, world.bank_user, loan.id, paid_on=date(2016, 5, 3),
                                principal=Decimal("100000.00"), interest=Decimal("0"), now=NOW)
    session.commit()
    headers = bearer(session, world.bank_user)
    r = client.get(f"/api/v1/loans/{loan.id}/schedule?as_of=2016-06-15", headers=headers)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["as_of"] == "2016-06-15" and body["outstanding_principal"] == "3566666.67"
    first, second, third, fourth = body["items"][:4]
    assert (first["due_on"], first["principal"], first["interest"], first["total"]) == (
        "2016-04-01", "333333.33", "16666.67", "350000.00")
    assert first["paid"] == "350000.00" and first["outstanding"] == "0.00" and first["overdue"] is False
    # interest of the 2nd: 3,666,666.67 × 5 % / 12 = 15,277.78; the 100,000 paid on 3 May goes to it
    assert (second["total"], second["paid"], second["outstanding"], second["overdue"]) == (
        "348611.11", "100000.00", "248611.11", True)
    # 3rd: interest 3,333,333.34 × 5 % / 12 = 13,888.89
    assert (third["total"], third["paid"], third["overdue"]) == ("347222.22", "0.00", True)
    assert fourth["due_on"] == "2016-07-01" and fourth["overdue"] is False and fourth["paid"] == "0.00"
    assert body["amount_overdue"] == "595833.33"  # 248,611.11 + 347,222.22
    assert Decimal(body["amount_overdue"]) == schedule.amount_overdue(loan, date(2016, 6, 15))
    assert len(body["items"]) == 12
    # before the second repayment was made, it does not count
    early = client.get(f"/api/v1/loans/{loan.id}/schedule?as_of=2016-05-02", headers=headers).get_json()
    assert early["items"][1]["paid"] == "0.00" and early["items"][1]["overdue"] is True
    assert early["amount_overdue"] == "348611.11"


def test_schedule_and_repayments_visible_to_the_loans_parties_only(client, session, factory, world):
    loan = world.loan()
    repayments.record_repayment(session, world.bank_user, loan.id, paid_on=date(2016, 4, 1),
                                principal=Decimal("1000"), interest=Decimal("50"), now=NOW)
    session.commit()
    enterprise_user = factory.user(Role.ENTERPRISE, org=world.enterprise)
    for user in (world.bank_user, world.staff, enterprise_user):
        headers = bearer(session, user)
        r = client.get(f"/api/v1/loans/{loan.id}/repayments", headers=headers)
        assert r.status_code == 200, (user.role, r.get_json())
        assert [(x["paid_on"], x["principal"], x["interest"]) for x in r.get_json()["items"]] == [
            ("2016-04-01", "1000.00", "50.00")]
        assert r.get_json()["outstanding_principal"] == "3999000.00"
        assert client.get(f"/api/v1/loans/{loan.id}/schedule", headers=headers).status_code == 200
    stranger = bearer(session, factory.user(Role.BANK))
    for path in ("repayments", "schedule"):
        r = client.get(f"/api/v1/loans/{loan.id}/{path}", headers=stranger)
        assert r.status_code == 404 and r.get_json()["error"]["message"]
        assert client.get(f"/api/v1/loans/{loan.id}/{path}", headers=bearer(session, factory.user(Role.BIDDER))
                          ).status_code == 403
    bad = client.get(f"/api/v1/loans/{loan.id}/schedule?as_of=someday", headers=bearer(session, world.bank_user))
    assert bad.status_code == 422 and "as_of" in str(bad.get_json()["error"].get("details"))
    # the enterprise sees its loans in the list, another enterprise does not
    mine = client.get("/api/v1/loans", headers=bearer(session, enterprise_user)).get_json()["items"]
    assert [x["id"] for x in mine] == [loan.id]
    assert client.get("/api/v1/loans", headers=bearer(session, factory.user(Role.ENTERPRISE))).get_json() == {
        "items": []}


def test_refused_repayment_keeps_nothing(client, session, world):
    loan = world.loan()
    session.commit()
    headers = bearer(session, world.bank_user)
    r = client.post(f"/api/v1/loans/{loan.id}/repayments", json={"paid_on": "2016-04-01", "principal": "4000000.01"},
                    headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/loans/{loan.id}/repayments", json={"paid_on": "2016-02-01", "principal": "10"},
                    headers=headers)
    assert r.status_code == 422
    assert session.scalar(select(func.count()).select_from(Repayment).where(Repayment.loan_id == loan.id)) == 0
    assert audits(session, "loan.repayment", loan.id) == 0
    ok = client.post(f"/api/v1/loans/{loan.id}/repayments", json={"paid_on": "2016-04-01", "principal": "10"},
                     headers=headers)
    assert ok.status_code == 201 and ok.get_json()["repayments"][0]["recorded_at"].endswith("+00:00")
    assert audits(session, "loan.repayment", loan.id) == 1


def test_premium_subsidy_paid_once_by_staff(client, session, world):
    loan = world.loan(guarantor_org_id=world.guarantor.id, guarantee_coverage=Decimal("0.5"),
                      guarantee_premium=Decimal("60000"))
    plain = world.loan()
    session.commit()
    assert loan.premium_subsidy == Decimal("40000.00")  # min(60,000, 1 % of 4,000,000)
    staff = bearer(session, world.staff)
    assert client.post(f"/api/v1/loans/{loan.id}/subsidy", headers=bearer(session, world.bank_user)).status_code == 403
    r = client.post(f"/api/v1/loans/{loan.id}/subsidy", headers=staff)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["amount"] == "40000.00" and body["ref"] == f"subsidy:loan:{loan.id}"
    assert sorted((x["account"], x["amount"]) for x in body["lines"]) == [
        ("fund_cash", "-40000.00"), ("subsidies_paid", "40000.00")]
    assert client.post(f"/api/v1/loans/{loan.id}/subsidy", headers=staff).get_json()["id"] == body["id"]
    assert audits(session, "fund.subsidy", loan.id) == 1
    assert client.get("/api/v1/fund", headers=staff).get_json()["balance"] == "24960000.00"
    txns = session.scalar(select(func.count()).select_from(LedgerTxn))
    r = client.post(f"/api/v1/loans/{plain.id}/subsidy", headers=staff)
    assert r.status_code == 422 and r.get_json()["error"]["message"]
    assert session.scalar(select(func.count()).select_from(LedgerTxn)) == txns
    assert client.post("/api/v1/loans/987654/subsidy", headers=staff).status_code == 404


def test_fund_ledger_for_staff(client, session, world, claimed):
    _loan, claim = claimed
    staff = bearer(session, world.staff)
    approved = client.post(f"/api/v1/claims/{claim.id}/approve", headers=staff).get_json()
    assert approved["status"] == "paid" and approved["paid_at"].endswith("+00:00")
    r = client.post("/api/v1/fund/contributions", json={"amount": "100000.50", "memo": "top-up"}, headers=staff)
    assert r.status_code == 201 and r.get_json()["balance"] == "23900000.50"
    assert r.get_json()["transaction"]["amount"] == "100000.50"
    items = client.get("/api/v1/fund/transactions", headers=staff).get_json()["items"]
    assert [x["kind"] for x in items] == ["contribution", "compensation", "contribution"]
    assert items[1]["ref"] == f"claim:{claim.id}" and items[1]["amount"] == "1200000.00"
    assert items[-1]["ref"] == "contribution:opening" and items[-1]["amount"] == "25000000.00"
    assert all(sum(Decimal(line["amount"]) for line in x["lines"]) == 0 for x in items)
    assert client.get("/api/v1/fund/transactions", headers=bearer(session, world.bank_user)).status_code == 403
    bank_view = client.get("/api/v1/fund", headers=bearer(session, world.bank_user)).get_json()
    assert "accounts" not in bank_view and bank_view["balance"] == "23900000.50"
    assert client.post("/api/v1/fund/contributions", json={"amount": "0"}, headers=staff).status_code == 422


def test_claim_of_another_banks_loan_cannot_be_made(client, session, factory, world):
    loan = world.loan()
    default.declare_default(session, world.bank_user, loan.id, NOW, reason="逾期未还")
    session.commit()
    other = bearer(session, factory.user(Role.BANK))
    r = client.post(f"/api/v1/loans/{loan.id}/claim", json={"recovery": "0", "evidence": "x"}, headers=other)
    assert r.status_code == 403
    assert session.scalar(select(func.count()).select_from(CompensationClaim)
                          .where(CompensationClaim.loan_id == loan.id)) == 0
    guarantor_user = factory.user(Role.GUARANTOR, org=factory.org(OrgKind.GUARANTOR))
    assert client.get(f"/api/v1/loans/{loan.id}", headers=bearer(session, guarantor_user)).status_code == 404


@pytest.mark.parametrize("field, value", [("loan_amount", "1e40"), ("loan_amount", 1e300), ("annual_rate", "1e40"),
                                          ("benchmark_rate", "0"), ("guarantee_premium", "1e20")])
def test_plan_amounts_beyond_what_the_ledger_holds_are_422(client, field, value):
    body = {"loan_amount": "4000000", "annual_rate": "0.05", "benchmark_rate": "0.0435", "term_months": 12}
    r = client.post("/api/v1/plans/evaluate", json={**body, field: value})
    assert r.status_code == 422 and field in r.get_json()["error"]["details"]["json"], r.get_json()


def test_huge_repayment_and_recovery_are_422_and_keep_nothing(client, session, world):
    loan = world.loan()
    session.commit()
    headers = bearer(session, world.bank_user)
    r = client.post(f"/api/v1/loans/{loan.id}/repayments", json={"paid_on": "2016-04-01", "interest": "1e20"},
                    headers=headers)
    assert r.status_code == 422 and "interest" in r.get_json()["error"]["details"]["json"]
    default.declare_default(session, world.bank_user, loan.id, NOW, reason="逾期未还")
    session.commit()
    r = client.post(f"/api/v1/loans/{loan.id}/claim", json={"recovery": "1e40", "evidence": "x"},
                    headers=headers)
    assert r.status_code == 422
    assert session.scalar(select(func.count()).select_from(Repayment).where(Repayment.loan_id == loan.id)) == 0
    assert claims.loan_claim(session, loan.id) is None


def test_contribution_that_would_overflow_the_fund_is_422_and_keeps_nothing(client, session, world):
    staff = bearer(session, world.staff)
    before = client.get("/api/v1/fund", headers=staff).get_json()["balance"]
    txns = session.scalar(select(func.count()).select_from(LedgerTxn))
    r = client.post("/api/v1/fund/contributions", json={"amount": "9999999999999999.00"}, headers=staff)
    assert r.status_code == 422 and r.get_json()["error"]["message"]
    assert client.get("/api/v1/fund", headers=staff).get_json()["balance"] == before
    assert session.scalar(select(func.count()).select_from(LedgerTxn)) == txns
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "fund.contribution")) == 0


@pytest.mark.parametrize("change", [{"enterprise_org_id": -7918305523}, {"enterprise_org_id": 0},
                                    {"asset_ids": [2**40]}, {"guarantor_org_id": 2**31}])
def test_ids_no_column_can_hold_are_422(client, session, world, change):
    body = {"enterprise_org_id": world.enterprise.id, "principal": "1000000", "annual_rate": "0.05",
            "term_months": 12, "asset_ids": [world.asset().id], "signed_on": "2016-03-01",
            "registration_number": "X1"}
    session.commit()
    r = client.post("/api/v1/loans", json={**body, **change}, headers=bearer(session, world.bank_user))
    assert r.status_code == 422 and set(change) <= set(r.get_json()["error"]["details"]["json"]), r.get_json()
