"""V1 Consent: nothing moves without the consent of the party who bears it (issue #12 section 1).

The attack replayed over HTTP: a verified bank records a loan on any enterprise's patents with POST /api/v1/loans,
declares default the same day with nothing overdue, types a recovery of 0 and files a claim of ¥1,500,000 that staff
approve and the fund pays. Each step is refused now; the lawful paths (the enterprise confirms, the grace period
runs or staff confirm with a reason, staff verify the evidence of a declared recovery) still lead to a paid claim."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import OrgKind, Role
from market.audit.models import AuditEntry
from market.errors import Conflict
from market.ip.models import PledgeState
from market.loans import claims, default, schedule, signing
from market.loans.models import CompensationClaim, Loan, LoanStatus, Pledge
from tests.conftest import NOW, PASSWORD, post_at_once
from tests.factories import enterprise_user, run_together

D = Decimal


def _bearer(client, user):
    r = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _payload(world, asset, signed_on=None, principal="5000000"):
    """A loan signed today by the app's clock (the API judges overdue instalments by it)."""
    from market.db import utcnow

    return {"enterprise_org_id": world.enterprise.id, "principal": principal, "annual_rate": "0.05",
            "term_months": 12, "asset_ids": [asset.id], "signed_on": (signed_on or utcnow().date()).isoformat(),
            "registration_number": "X2026500000777"}


def _audits(session, action, entity_id) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.entity_id == str(entity_id)))


def test_the_attack_from_the_issue_is_refused_at_every_step(client, session, factory, world):
    """Replay: loan on another's patents without its consent → default the same day → recovery 0 → ¥1.5M claim."""
    bank, staff = _bearer(client, world.bank_user), _bearer(client, world.staff)
    asset = world.asset()
    session.commit()
    balance = client.get("/api/v1/fund", headers=staff).get_json()["balance"]
    r = client.post("/api/v1/loans", json=_payload(world, asset), headers=bank)
    assert r.status_code == 201, r.get_json()
    loan = r.get_json()
    # no pledge exists without the enterprise: the loan waits for its confirmation
    assert loan["status"] == "pending" and loan["pledges"] == [] and loan["consent"] is None
    session.expire_all()
    assert session.get(type(asset), asset.id).pledge_state is PledgeState.FREE
    assert session.scalar(select(func.count()).select_from(Pledge).where(Pledge.asset_id == asset.id)) == 0
    # default the same day, with a reason or without: refused
    for body in ({}, {"reason": "企业经营困难"}):
        assert client.post(f"/api/v1/loans/{loan['id']}/default", json=body, headers=bank).status_code in (409, 422)
    # recovery 0 and a claim: refused (the loan is not in default)
    r = client.post(f"/api/v1/loans/{loan['id']}/claim", json={"recovery": "0", "evidence": "无"}, headers=bank)
    assert r.status_code == 409
    assert client.get("/api/v1/claims", headers=staff).get_json()["items"] == []
    assert client.post(f"/api/v1/loans/{loan['id']}/subsidy", headers=staff).status_code == 409
    assert client.get("/api/v1/fund", headers=staff).get_json()["balance"] == balance
    # the bank cannot confirm its own loan for the enterprise, nor can another enterprise
    assert client.post(f"/api/v1/loans/{loan['id']}/confirm", headers=bank).status_code == 403
    stranger = _bearer(client, factory.user(Role.ENTERPRISE))
    assert client.post(f"/api/v1/loans/{loan['id']}/confirm", headers=stranger).status_code == 404


def test_same_day_default_needs_staff_and_a_declared_recovery_needs_verified_evidence(client, session, world):
    """The enterprise confirms; the bank cannot default the signing day on its own; staff confirm a default request
    with a reason; a recovery typed by the bank needs evidence that staff verify before approval; then it is paid."""
    bank, staff = _bearer(client, world.bank_user), _bearer(client, world.staff)
    ent = _bearer(client, enterprise_user(session, world.enterprise))
    asset = world.asset()
    session.commit()
    loan_id = client.post("/api/v1/loans", json=_payload(world, asset), headers=bank).get_json()["id"]
    r = client.post(f"/api/v1/loans/{loan_id}/confirm", headers=ent)
    assert r.status_code == 200 and r.get_json()["status"] == "active" and len(r.get_json()["pledges"]) == 1
    r = client.post(f"/api/v1/loans/{loan_id}/default", json={"reason": "企业经营困难"}, headers=bank)
    assert r.status_code == 409 and "90" in r.get_json()["error"]["message"]
    # staff cannot confirm what the bank did not ask for
    confirm = f"/api/v1/loans/{loan_id}/default-request/confirm"
    assert client.post(confirm, json={"reason": "核实"}, headers=staff).status_code == 409
    r = client.post(f"/api/v1/loans/{loan_id}/default-request", json={"reason": "企业主失联，工厂停产"}, headers=bank)
    assert r.status_code == 200 and r.get_json()["status"] == "active" and r.get_json()["default_requested_at"]
    assert client.post(confirm, json={"reason": "核实"}, headers=bank).status_code == 403
    assert client.post(confirm, json={"reason": ""}, headers=staff).status_code == 422
    r = client.post(confirm, json={"reason": "已现场核实停产"}, headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "defaulted" and r.get_json()["default_basis"] == "staff"
    assert _audits(session, "loan.defaulted", loan_id) == 1
    # a recovery typed by the bank needs evidence ...
    claim_url = f"/api/v1/loans/{loan_id}/claim"
    assert client.post(claim_url, json={"recovery": "0"}, headers=bank).status_code == 422
    r = client.post(claim_url, json={"recovery": "0", "evidence": "(2026)渝01执123号终本裁定"}, headers=bank)
    assert r.status_code == 201 and r.get_json()["compensation"] == "1500000.00"
    claim = r.get_json()
    assert claim["recovery_source"] == "declared"
    assert {c["code"]: c["ok"] for c in claim["checklist"]} == {
        "consent": True, "default": True, "recovery": False, "rate": True, "amounts": True}
    # ... that staff verify before they can approve
    r = client.post(f"/api/v1/claims/{claim['id']}/approve", headers=staff)
    assert r.status_code == 409 and "recovery" in r.get_json()["error"]["message"]
    assert client.post(f"/api/v1/claims/{claim['id']}/verify-recovery", headers=bank).status_code == 403
    assert client.post(f"/api/v1/claims/{claim['id']}/verify-recovery", headers=staff).status_code == 200
    assert client.post(f"/api/v1/claims/{claim['id']}/verify-recovery", headers=staff).status_code == 409
    r = client.post(f"/api/v1/claims/{claim['id']}/approve", headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "paid"
    assert _audits(session, "claim.evidence_verified", claim["id"]) == 1


def test_default_waits_for_the_stated_grace_period(session, world):
    """90 days overdue is not yet a default the bank may declare alone; 91 days is (policy cq-2015)."""
    loan = world.loan(signed_on=date(2016, 3, 1))  # the first instalment falls due on 2016-04-01, unpaid
    assert loan.policy.default_grace_days == 90
    at_90 = datetime(2016, 6, 30, 10)
    facts = schedule.overdue_facts(loan, at_90.date())
    assert facts.oldest_due_on == date(2016, 4, 1) and facts.days_overdue == 90 and not facts.past_grace
    with pytest.raises(Conflict):
        default.declare_default(session, world.bank_user, loan.id, at_90, reason="逾期")
    with pytest.raises(Exception, match="reason"):
        default.declare_default(session, world.bank_user, loan.id, at_90 + timedelta(days=1), reason="  ")
    default.declare_default(session, world.bank_user, loan.id, at_90 + timedelta(days=1), reason="逾期91天")
    assert loan.status is LoanStatus.DEFAULTED and loan.default_basis.value == "overdue"
    assert loan.default_facts["days_overdue"] == 91 and loan.default_facts["grace_days"] == 90
    assert loan.default_reason == "逾期91天"


def test_a_claim_on_a_loan_without_consent_or_default_basis_is_refused(session, world):
    """A loan that lacks a fact (here: written before the consent rules, with no consent and no default basis)
    cannot have its claim approved, even when the recovery comes from the exchange."""
    loan = world.loan()
    session.execute(Loan.__table__.update().where(Loan.id == loan.id).values(
        consent=None, consented_at=None, status=LoanStatus.DEFAULTED,
        defaulted_on=NOW.date()))
    session.expire_all()
    loan = session.get(Loan, loan.id)
    claim = claims.assemble_claim(session, loan, D("0"), NOW)
    checks = {c.code: c.ok for c in claims.claim_checklist(session, claim)}
    assert checks == {"consent": False, "default": False, "recovery": True, "rate": True, "amounts": True}
    with pytest.raises(Conflict, match="checklist"):
        claims.approve_claim(session, world.staff, claim.id, NOW)
    # an edited amount fails the amounts fact as well
    session.execute(CompensationClaim.__table__.update().where(CompensationClaim.id == claim.id)
                    .values(compensation=D("1500000.00")))
    session.expire_all()
    claim = session.get(CompensationClaim, claim.id)
    assert not {c.code: c.ok for c in claims.claim_checklist(session, claim)}["amounts"]


def test_a_loan_from_an_accepted_offer_cannot_be_backdated_before_the_acceptance(session, factory):
    """The accepted offer is the enterprise's consent to those terms from that day: a bank that signs it with an
    earlier date (to make instalments overdue at once) is refused."""
    from market.needs import docking
    from tests.factories import NeedsKit

    kit = NeedsKit(session, factory)
    ent = kit.enterprise()
    need = kit.published_need(ent)
    bank = factory.user(Role.BANK)
    offer = docking.make_offer(session, bank, need.id, D("1000000.00"), D("0.05"), 12, NOW)
    docking.accept_offer(session, ent, offer.id, NOW)
    with pytest.raises(Exception, match="accepted the offer"):
        signing.sign_loan_from_offer(session, bank, offer.id, signed_on=date(2016, 1, 1), now=NOW,
                                     registration_number="R1")
    loan = signing.sign_loan_from_offer(session, bank, offer.id, signed_on=NOW.date(), now=NOW,
                                        registration_number="R1")
    assert loan.consent.value == "offer" and loan.status is LoanStatus.ACTIVE and loan.pledges


def test_the_enterprise_may_decline_and_nothing_is_pledged(client, session, world):
    bank = _bearer(client, world.bank_user)
    ent = _bearer(client, enterprise_user(session, world.enterprise))
    asset = world.asset()
    session.commit()
    loan_id = client.post("/api/v1/loans", json=_payload(world, asset), headers=bank).get_json()["id"]
    r = client.post(f"/api/v1/loans/{loan_id}/decline", headers=ent)
    assert r.status_code == 200 and r.get_json()["status"] == "declined"
    assert client.post(f"/api/v1/loans/{loan_id}/confirm", headers=ent).status_code == 409
    assert client.post(f"/api/v1/loans/{loan_id}/default-request", json={"reason": "x"},
                       headers=bank).status_code == 409
    session.expire_all()
    assert session.get(type(asset), asset.id).pledge_state is PledgeState.FREE
    assert _audits(session, "loan.declined", loan_id) == 1


# ------------------------------------------------------------------------------------------------ two threads

def _pending_loan_with_two_users(app):
    """A loan a bank recorded on one patent, waiting for its enterprise, which has two users. Committed.
    Returns the loan's id, the two users as (id, e-mail) pairs and the patent's id."""
    from market.db import db
    from tests.conftest import Factory
    from tests.factories import make_asset

    with app.app_context():
        f = Factory(db.session)
        bank = f.user(Role.BANK)
        ent = f.org(OrgKind.ENTERPRISE)
        users = [f.user(Role.ENTERPRISE, org=ent), f.user(Role.ENTERPRISE, org=ent)]
        asset = make_asset(db.session, ent)
        loan = signing.sign_loan(db.session, bank, enterprise_org_id=ent.id, principal=D("1000000"),
                                 annual_rate=D("0.05"), term_months=12, asset_ids=[asset.id],
                                 signed_on=date(2026, 6, 1), now=NOW, registration_number="R1")
        db.session.commit()
        return loan.id, [(u.id, u.email) for u in users], asset.id


def _confirm_and_decline_at_once(app):
    """The enterprise's two users: one confirms the pending loan, the other declines it, at the same moment."""
    from market.db import db

    loan_id, users, asset_id = _pending_loan_with_two_users(app)
    (confirmer, _), (decliner, _) = users

    def act(session, user):
        if user.id == confirmer:
            signing.confirm_loan(session, user, loan_id, NOW)
        else:
            signing.decline_loan(session, user, loan_id, NOW)

    outcomes = run_together(app, [confirmer, decliner], act)
    with app.app_context():
        from market.ip.models import IpAsset

        loan = db.session.get(Loan, loan_id)
        pledges = db.session.scalar(select(func.count()).select_from(Pledge).where(Pledge.loan_id == loan_id))
        return outcomes, loan.status, pledges, db.session.get(IpAsset, asset_id).pledge_state


def _check_one_decision(outcomes, status, pledges, state):
    assert sorted(outcomes) == ["Conflict", "ok"], outcomes
    if status is LoanStatus.ACTIVE:
        assert pledges == 1 and state is PledgeState.PLEDGED
    else:
        assert status is LoanStatus.DECLINED and pledges == 0 and state is PledgeState.FREE


def test_confirm_and_decline_at_once_sqlite(make_app):
    _check_one_decision(*_confirm_and_decline_at_once(make_app()))


@pytest.mark.skipif(not os.environ.get("MARKET_TEST_POSTGRESQL_URL"), reason="PostgreSQL not configured")
def test_confirm_and_decline_at_once_postgresql(make_app):
    _check_one_decision(*_confirm_and_decline_at_once(make_app(url=os.environ["MARKET_TEST_POSTGRESQL_URL"])))


def _two_confirms_over_http(app):
    """Two enterprise users confirm the same pending loan through the API at the same moment."""
    from market.db import db

    loan_id, users, _asset_id = _pending_loan_with_two_users(app)
    emails = [email for _id, email in users]
    statuses = post_at_once(app, emails, [(f"/api/v1/loans/{loan_id}/confirm", None)] * 2)
    with app.app_context():
        pledges = db.session.scalar(select(func.count()).select_from(Pledge).where(Pledge.loan_id == loan_id))
        confirmed = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "loan.confirmed", AuditEntry.entity_id == str(loan_id)))
    return statuses, pledges, confirmed


def test_two_confirms_at_once_sqlite(make_app):
    statuses, pledges, confirmed = _two_confirms_over_http(make_app())
    assert sorted(statuses) == [200, 409] and pledges == 1 and confirmed == 1


@pytest.mark.skipif(not os.environ.get("MARKET_TEST_POSTGRESQL_URL"), reason="PostgreSQL not configured")
def test_two_confirms_at_once_postgresql(make_app):
    statuses, pledges, confirmed = _two_confirms_over_http(make_app(url=os.environ["MARKET_TEST_POSTGRESQL_URL"]))
    assert sorted(statuses) == [200, 409] and pledges == 1 and confirmed == 1


# ------------------------------------------------------------------------------------------------ web pages

def test_web_the_enterprise_confirms_a_loan_the_bank_recorded(client, session, world):
    from tests.conftest import login

    ent_user = enterprise_user(session, world.enterprise)
    asset = world.asset()
    loan = signing.sign_loan(session, world.bank_user, enterprise_org_id=world.enterprise.id, principal=D("3000000"),
                             annual_rate=D("0.05"), term_months=12, asset_ids=[asset.id], signed_on=NOW.date(),
                             now=NOW, registration_number="R-WEB")
    session.commit()
    login(client, ent_user)
    page = client.get(f"/loans/{loan.id}").get_data(as_text=True)
    assert 'data-test="pending-loan"' in page and asset.title in page and 'data-test="confirm-loan"' in page
    # without ticking "I agree" nothing happens
    client.post(f"/loans/{loan.id}/confirm", data={})
    session.expire_all()
    assert session.get(Loan, loan.id).status is LoanStatus.PENDING
    client.post(f"/loans/{loan.id}/confirm", data={"agree": "y"})
    session.expire_all()
    loan = session.get(Loan, loan.id)
    assert loan.status is LoanStatus.ACTIVE and loan.consent.value == "confirmed" and len(loan.pledges) == 1


def test_web_default_asks_for_a_reason_and_the_claim_page_shows_the_checklist(client, session, world):
    from tests.conftest import login

    loan = world.loan()  # signed 2016: long overdue by the app clock
    session.commit()
    login(client, world.bank_user)
    page = client.get(f"/loans/{loan.id}").get_data(as_text=True)
    assert 'data-test="declare-default"' in page and 'data-test="shares"' in page
    client.post(f"/loans/{loan.id}/default", data={"reason": "", "confirmed": "y"})
    session.expire_all()
    assert session.get(Loan, loan.id).status is LoanStatus.ACTIVE
    client.post(f"/loans/{loan.id}/default", data={"reason": "连续逾期超过90天"})  # not confirmed
    session.expire_all()
    assert session.get(Loan, loan.id).status is LoanStatus.ACTIVE
    client.post(f"/loans/{loan.id}/default", data={"reason": "连续逾期超过90天", "confirmed": "y"})
    session.expire_all()
    assert session.get(Loan, loan.id).status is LoanStatus.DEFAULTED
    client.post(f"/loans/{loan.id}/claim", data={"recovery": "1000000", "evidence": "调解书"})
    claim = claims.loan_claim(session, loan.id)
    assert claim is not None and claim.recovery_source.value == "declared"
    client.post("/logout")
    login(client, world.staff)
    queue = client.get("/loans/claims").get_data(as_text=True)
    assert world.bank_user.organisation.name in queue and "3,000,000.00" in queue
    page = client.get(f"/loans/claims/{claim.id}").get_data(as_text=True)
    assert 'data-check="recovery" data-ok="no"' in page and 'data-test="approve-blocked"' in page
    assert 'data-test="breakdown"' in page and "900,000.00" in page
    client.post(f"/loans/claims/{claim.id}/verify")
    page = client.get(f"/loans/claims/{claim.id}").get_data(as_text=True)
    assert 'data-ok="no"' not in page and 'data-test="approve"' in page
    client.post(f"/loans/claims/{claim.id}/reject", data={"reason": "", "confirmed": "y"})
    session.expire_all()
    assert session.get(CompensationClaim, claim.id).status.value == "submitted"
    client.post(f"/loans/claims/{claim.id}/approve")
    session.expire_all()
    assert session.get(CompensationClaim, claim.id).status.value == "paid"
    ledger = client.get("/loans/fund").get_data(as_text=True)
    assert 'data-test="running-balance">24,100,000.00' in ledger.replace("¥", "")
