"""The fund's third and fourth uses — intermediary rewards and the enterprise interest subsidy — and its order of
spending: credit enhancement, then compensation, then rewards, then the interest subsidy. A short fund pays the
earlier categories first. Double entry, Decimal, idempotent by reference, audited; raced on both databases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.errors import Conflict, Forbidden
from market.loans import claims, default, fund, grants, repayments
from market.loans.models import (
    CompensationStatus,
    Fund,
    FundGrant,
    GrantKind,
    GrantStatus,
    LedgerAccount,
    LedgerLine,
    LedgerTxn,
)
from market.policy.rules import interest_subsidy, intermediary_reward
from market.policy.seed import SEED_POLICIES
from market.policy.service import policy_in_force
from market.stats import figures
from tests.conftest import NOW, PASSWORD, Factory, login, post_at_once
from tests.races import TARGETS, count, private_app

D = Decimal
LATER = NOW + timedelta(days=3)


def _covered_loan(world, principal="4000000", **kw):
    """A loan whose guarantor and insurer each took a share of the risk."""
    return world.loan(principal=principal, guarantor_org_id=world.guarantor.id, guarantee_coverage=D("0.3"),
                      insurer_org_id=world.insurer.id, insurance_coverage=D("0.2"), **kw)


def _lines_balance(session, ref: str) -> Decimal:
    txn = session.scalar(select(LedgerTxn).where(LedgerTxn.ref == ref))
    return sum((line.amount for line in txn.lines), D(0))


def _empty_fund(session, staff):
    fund.ensure_fund(session, NOW)
    session.execute(update(Fund).where(Fund.id == fund.FUND_ID).values(balance=D(0)))
    session.expire_all()


def test_the_rules_take_the_values_of_the_policy_version():
    policy = type("P", (), SEED_POLICIES[0])()
    assert intermediary_reward(policy, D("4000000")) == D("8000.00")  # 0.2 % of the principal
    assert intermediary_reward(policy, D("50000000")) == D("20000.00")  # capped per intermediary
    assert interest_subsidy(policy, D("15000")) == D("4500.00")  # 30 % of the interest paid
    assert interest_subsidy(policy, D("15000"), D("4500")) == D("0.00")  # nothing new
    assert interest_subsidy(policy, D("1000000"), D("90000")) == D("10000.00")  # the cap of 100,000 per loan


def test_rewards_pay_each_intermediary_once_in_double_entry(world):
    s = world.session
    loan = _covered_loan(world)
    made = grants.grant_intermediary_rewards(s, world.staff, loan.id, NOW)
    assert sorted(g.org_id for g in made) == sorted([world.guarantor.id, world.insurer.id])
    assert all(g.status is GrantStatus.PAID and g.amount == D("8000.00") for g in made)
    for g in made:
        assert _lines_balance(s, g.ref) == 0
    assert fund.account_balance(s, LedgerAccount.REWARDS_PAID) == D("16000.00")
    assert fund.fund_balance(s) == fund.OPENING_CONTRIBUTION - D("16000.00")
    # again: nothing new is granted or paid
    again = grants.grant_intermediary_rewards(s, world.staff, loan.id, LATER)
    assert [g.id for g in again] == [g.id for g in made]
    assert fund.account_balance(s, LedgerAccount.REWARDS_PAID) == D("16000.00")
    actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "fund_grant")))
    assert actions == {"fund_grant.intermediary_rewards", "fund_grant.paid"}
    assert figures.headline(s)["intermediary_rewards_paid"] == D("16000.00")


def test_who_qualifies_for_a_reward(world, factory):
    s = world.session
    bare = world.loan()
    with pytest.raises(Conflict, match="nobody to reward"):
        grants.grant_intermediary_rewards(s, world.staff, bare.id, NOW)
    above_cap = _covered_loan(world, rate="0.0700")  # above 150 % of the 4.35 % benchmark
    with pytest.raises(Conflict, match="above its policy's cap"):
        grants.grant_intermediary_rewards(s, world.staff, above_cap.id, NOW)
    with pytest.raises(Forbidden):
        grants.grant_intermediary_rewards(s, world.bank_user, _covered_loan(world).id, NOW)
    assert s.scalar(select(func.count()).select_from(FundGrant)) == 0


def test_interest_subsidy_follows_the_interest_paid_and_stops_at_default(world):
    s = world.session
    loan = world.loan()
    with pytest.raises(Conflict, match="No new interest subsidy"):
        grants.grant_interest_subsidy(s, world.staff, loan.id, NOW)
    repayments.record_repayment(s, world.bank_user, loan.id, paid_on=date(2016, 4, 1), principal=D("0"),
                                interest=D("16666.67"), now=NOW)
    first = grants.grant_interest_subsidy(s, world.staff, loan.id, NOW)
    assert (first.org_id, first.basis, first.amount, first.status) == (
        world.enterprise.id, D("16666.67"), D("5000.00"), GrantStatus.PAID)
    assert first.ref == f"interest:loan:{loan.id}:1" and _lines_balance(s, first.ref) == 0
    with pytest.raises(Conflict, match="No new interest subsidy"):
        grants.grant_interest_subsidy(s, world.staff, loan.id, NOW)
    repayments.record_repayment(s, world.bank_user, loan.id, paid_on=date(2016, 5, 1), principal=D("0"),
                                interest=D("10000"), now=NOW)
    second = grants.grant_interest_subsidy(s, world.staff, loan.id, LATER)
    assert second.amount == D("3000.00") and second.ref == f"interest:loan:{loan.id}:2"
    assert fund.account_balance(s, LedgerAccount.INTEREST_SUBSIDIES_PAID) == D("8000.00")
    default.declare_default(s, world.bank_user, loan.id, LATER, reason="逾期未还")
    with pytest.raises(Conflict, match="default"):
        grants.grant_interest_subsidy(s, world.staff, loan.id, LATER)


def test_a_short_fund_pays_in_the_policy_order(world):
    """Empty fund; granted in the order interest subsidy, rewards, then a claim is approved. Each top-up pays the
    claim first, then the rewards, then the interest subsidy — an affordable later item never jumps ahead."""
    s = world.session
    assert policy_in_force(s, NOW.date()).spending_order[1:] == [
        "bad_loan_compensation", "intermediary_rewards", "enterprise_interest_subsidy"]
    performing = world.loan()
    repayments.record_repayment(s, world.bank_user, performing.id, paid_on=date(2016, 4, 1), principal=D("0"),
                                interest=D("1000"), now=NOW)
    covered = _covered_loan(world)
    bad = world.loan(principal="1000000")
    default.declare_default(s, world.bank_user, bad.id, NOW, reason="逾期未还")
    _empty_fund(s, world.staff)

    subsidy = grants.grant_interest_subsidy(s, world.staff, performing.id, NOW)  # 300, waits
    rewards = grants.grant_intermediary_rewards(s, world.staff, covered.id, NOW)  # 2 × 8,000, wait
    claim = claims.record_recovery(s, world.bank_user, bad.id, D("0"), NOW, evidence="处置回收凭证")
    claims.verify_recovery(s, world.staff, claim.id, NOW)
    claims.approve_claim(s, world.staff, claim.id, NOW)  # 300,000, waits
    assert claim.status is CompensationStatus.APPROVED
    assert [g.status for g in [subsidy, *rewards]] == [GrantStatus.WAITING] * 3
    assert [g.kind for g in fund.waiting_grants(s, NOW)] == [GrantKind.INTERMEDIARY_REWARD] * 2 + [
        GrantKind.INTEREST_SUBSIDY]

    fund.contribute(s, world.staff, D("200000"), NOW)  # short of the claim: nothing after it is paid either
    assert claim.status is CompensationStatus.APPROVED
    assert [g.status for g in [subsidy, *rewards]] == [GrantStatus.WAITING] * 3

    fund.contribute(s, world.staff, D("109000"), NOW)  # 309,000: the claim, one reward; the subsidy still waits
    s.expire_all()
    assert claim.status is CompensationStatus.PAID
    assert sorted(g.status for g in rewards) == [GrantStatus.PAID, GrantStatus.WAITING]
    assert subsidy.status is GrantStatus.WAITING  # 1,000 left would pay it, but a reward waits before it
    assert fund.fund_balance(s) == D("1000.00")

    fund.contribute(s, world.staff, D("7300"), LATER)
    s.expire_all()
    assert [g.status for g in [subsidy, *rewards]] == [GrantStatus.PAID] * 3
    assert fund.fund_balance(s) == D("0.00")
    cash = s.scalar(select(func.sum(LedgerLine.amount)).where(LedgerLine.account == LedgerAccount.FUND_CASH))
    # paid out exactly what came in (the ledger still holds the opening fund: the test emptied the cached balance)
    assert D(str(cash)) == fund.OPENING_CONTRIBUTION


def test_the_api_and_the_staff_page(client, session, world, factory):
    loan = _covered_loan(world)
    staff = world.staff
    token = client.post("/api/v1/tokens", json={"email": staff.email, "password": PASSWORD}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    created = client.post(f"/api/v1/loans/{loan.id}/intermediary-rewards", headers=auth)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert {g["status"] for g in body} == {"paid"} and {g["amount"] for g in body} == {"8000.00"}
    listed = client.get("/api/v1/fund/grants", headers=auth).get_json()
    assert listed["waiting_amount"] == "0.00" and len(listed["items"]) == 2
    refused = client.post(f"/api/v1/loans/{loan.id}/interest-subsidies", headers=auth)
    assert refused.status_code == 409 and "贴息" in refused.get_json()["error"]["message"]
    for bad in (99999999, 2**40):
        missing = client.post(f"/api/v1/loans/{bad}/interest-subsidies", headers=auth)
        assert missing.status_code == 404, (bad, missing.status_code)
    bank = factory.user(Role.BANK)
    bank_token = client.post("/api/v1/tokens", json={"email": bank.email, "password": PASSWORD}).get_json()["token"]
    assert client.post(f"/api/v1/loans/{loan.id}/intermediary-rewards",
                       headers={"Authorization": f"Bearer {bank_token}"}).status_code == 403

    login(client, staff)
    page = client.get("/loans/fund/grants").get_data(as_text=True)
    assert "中介奖励" in page and world.guarantor.name in page
    refused = client.post("/loans/fund/grants", data={"loan_id": str(loan.id), "kind": "enterprise_interest_subsidy"},
                          follow_redirects=True)
    assert refused.status_code == 200 and "没有新的贴息" in refused.get_data(as_text=True)
    assert client.post("/loans/fund/grants", data={"loan_id": "x", "kind": "intermediary_rewards"}).status_code == 200
    client.post("/language/en")
    assert "Intermediary rewards paid by the fund" in client.get("/stats").get_data(as_text=True)


@pytest.mark.parametrize("target", TARGETS)
def test_two_grants_at_once_pay_once(make_app, target):
    """Two staff members grant the same loan's interest subsidy, and its rewards, at the same moment: the loan's
    row lock queues them; one grant each, one ledger payment each; the other is a 409 (subsidy) or a repeat."""
    from market.accounts.models import OrgKind
    from market.db import db, utcnow
    from market.loans.signing import confirm_loan, sign_loan
    from tests.factories import enterprise_user, make_asset

    app = private_app(make_app, target)
    with app.app_context():
        f = Factory(db.session)
        staff = [f.user(Role.STAFF), f.user(Role.STAFF)]
        bank = f.user(Role.BANK)
        enterprise, guarantor = f.org(OrgKind.ENTERPRISE), f.org(OrgKind.GUARANTOR)
        asset = make_asset(db.session, enterprise)
        loan = sign_loan(db.session, bank, enterprise_org_id=enterprise.id, principal=D("4000000"),
                         annual_rate=D("0.05"), term_months=12, asset_ids=[asset.id], signed_on=date(2016, 3, 1),
                         registration_number="X2016500000999", guarantor_org_id=guarantor.id,
                         guarantee_coverage=D("0.4"), now=utcnow())
        confirm_loan(db.session, enterprise_user(db.session, enterprise), loan.id, utcnow())
        repayments.record_repayment(db.session, bank, loan.id, paid_on=date(2016, 4, 1), principal=D("0"),
                                    interest=D("20000"), now=utcnow())
        db.session.commit()
        loan_id, emails = loan.id, [u.email for u in staff]
    statuses = post_at_once(app, emails, [(f"/api/v1/loans/{loan_id}/interest-subsidies", None)] * 2)
    assert sorted(statuses) == [201, 409], statuses
    statuses = post_at_once(app, emails, [(f"/api/v1/loans/{loan_id}/intermediary-rewards", None)] * 2)
    assert statuses == [201, 201], statuses
    assert count(app, FundGrant, FundGrant.loan_id == loan_id) == 2
    assert count(app, LedgerTxn, LedgerTxn.ref.like(f"interest:loan:{loan_id}:%")) == 1
    assert count(app, LedgerTxn, LedgerTxn.ref.like(f"reward:loan:{loan_id}:%")) == 1
    with app.app_context():
        assert fund.fund_balance(db.session) == fund.OPENING_CONTRIBUTION - D("6000.00") - D("8000.00")
