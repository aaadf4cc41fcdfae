"""From an accepted offer to a loan: sign_loan_from_offer on the real needs Offer, the signing page, the API, and the
post-loan section of the need page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import OrgKind, Role
from market.api.auth import issue_token
from market.audit.models import AuditEntry
from market.errors import Conflict, NotFound
from market.ip.models import PledgeState
from market.loans import repayments, signing
from market.loans.models import Loan, LoanStatus, Pledge
from market.needs import docking
from market.needs.models import NeedStatus
from market.outbox.models import SearchOutbox
from tests.conftest import NOW, login
from tests.factories import NeedsKit, confirmed_loan, run_together

SIGNED = date(2026, 12, 1)
AT = datetime(2026, 12, 1, 9)


@pytest.fixture
def kit(session, factory):
    return NeedsKit(session, factory)


@pytest.fixture
def story(session, factory, kit):
    """A published need of an enterprise offering two patents; a bank's offer the enterprise accepted."""
    ent, bank, need, offer = kit.accepted_offer(conditions="需办理专利权质押登记")
    return {"ent": ent, "bank": bank, "need": need, "offer": offer, "assets": [na.asset for na in need.assets]}


def _loans(session) -> int:
    return session.scalar(select(func.count()).select_from(Loan))


def test_sign_from_offer_creates_loan_pledges_and_funds_the_need(session, factory, story):
    guarantor = factory.org(OrgKind.GUARANTOR)
    loan = signing.sign_loan_from_offer(
        session, story["bank"], story["offer"].id, signed_on=SIGNED, now=AT, registration_number="Y2026500001234",
        registered_on=date(2026, 11, 30), guarantor_org_id=guarantor.id, guarantee_coverage=Decimal("0.3"),
        guarantee_premium=Decimal("42000"))
    need, offer = story["need"], story["offer"]
    assert (loan.principal, loan.annual_rate, loan.term_months) == (Decimal("2800000.00"), Decimal("0.0520"), 12)
    assert loan.offer_id == offer.id and loan.enterprise_org_id == need.org_id
    assert loan.bank_org_id == story["bank"].organisation_id and loan.status is LoanStatus.ACTIVE
    assert sorted(p.asset_id for p in loan.pledges) == sorted(need.asset_ids)
    assert all(p.registration_number == "Y2026500001234" and p.registered_on == date(2026, 11, 30)
               for p in loan.pledges)
    assert all(a.pledge_state is PledgeState.PLEDGED for a in story["assets"])
    assert loan.premium_subsidy == Decimal("28000.00")  # min(42,000, 1 % of 2,800,000)
    assert need.status is NeedStatus.FUNDED
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.at == AT)))
    assert {"loan.signed", "need.funded", "loan.signed_from_offer"} <= actions
    # the funded need leaves the index through the outbox
    assert session.scalar(select(SearchOutbox.id).where(SearchOutbox.index_name == "needs",
                                                        SearchOutbox.doc_id == str(need.id)))
    assert signing.loan_of_need(session, need).id == loan.id
    from market.notices.models import Notice

    links = set(session.scalars(select(Notice.link).where(Notice.recipient_org_id == story["bank"].organisation_id)))
    assert f"/loans/from-offer/{offer.id}" in links  # the bank was told to sign
    assert session.scalar(select(Notice.id).where(Notice.recipient_org_id == need.org_id,
                                                  Notice.link == f"/needs/{need.id}"))


def test_offer_not_accepted_is_refused(session, factory, kit):
    ent = kit.enterprise()
    need = kit.published_need(ent)
    bank = factory.user(Role.BANK)
    offer = docking.make_offer(session, bank, need.id, Decimal("1000000"), Decimal("0.05"), 12, NOW)
    with pytest.raises(Conflict):
        signing.sign_loan_from_offer(session, bank, offer.id, signed_on=SIGNED, now=AT, registration_number="R1")
    docking.decline_offer(session, ent, offer.id, NOW)
    with pytest.raises(Conflict):
        signing.sign_loan_from_offer(session, bank, offer.id, signed_on=SIGNED, now=AT, registration_number="R1")
    assert need.status is NeedStatus.IN_TALKS
    assert signing.loan_of_offer(session, offer.id) is None


def test_another_bank_cannot_sign(session, factory, story):
    with pytest.raises(NotFound):
        signing.sign_loan_from_offer(session, factory.user(Role.BANK), story["offer"].id, signed_on=SIGNED, now=AT,
                                     registration_number="R1")


def test_asset_pledged_meanwhile_is_409_and_nothing_written(session, factory, story):
    first, second = story["assets"]
    # the bank pledged the second patent for another loan after the need was published
    other = confirmed_loan(session, story["bank"], story["need"].org, principal=Decimal("500000"),
                           annual_rate=Decimal("0.05"), term_months=6, asset_ids=[second.id], signed_on=SIGNED,
                           now=AT, registration_number="OTHER")
    before = _loans(session)
    pledges = session.scalar(select(func.count()).select_from(Pledge))
    with pytest.raises(Conflict) as err:
        signing.sign_loan_from_offer(session, story["bank"], story["offer"].id, signed_on=SIGNED, now=AT,
                                     registration_number="Y1")
    assert err.value.status == 409
    assert _loans(session) == before and session.scalar(select(func.count()).select_from(Pledge)) == pledges
    session.refresh(first)
    assert first.pledge_state is PledgeState.FREE
    assert story["need"].status is NeedStatus.IN_TALKS
    assert signing.loan_of_offer(session, story["offer"].id) is None
    assert other.pledges[0].asset_id == second.id


def test_second_signing_of_the_same_offer_is_refused(session, story):
    loan = signing.sign_loan_from_offer(session, story["bank"], story["offer"].id, signed_on=SIGNED, now=AT,
                                        registration_number="Y1")
    with pytest.raises(Conflict):
        signing.sign_loan_from_offer(session, story["bank"], story["offer"].id, signed_on=SIGNED, now=AT,
                                     registration_number="Y2")
    assert session.scalar(select(func.count()).select_from(Loan).where(Loan.offer_id == story["offer"].id)) == 1
    assert signing.loan_of_offer(session, story["offer"].id).id == loan.id


def test_sign_page_prefills_and_need_page_follows_the_loan(client, session, factory, story):
    bank, ent, need, offer = story["bank"], story["ent"], story["need"], story["offer"]
    login(client, bank)
    page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert f"/loans/from-offer/{offer.id}" in page
    page = client.get(f"/loans/from-offer/{offer.id}").get_data(as_text=True)
    assert "280万" in page or "2,800,000.00" in page
    assert all(a.title in page for a in story["assets"])
    response = client.post(f"/loans/from-offer/{offer.id}", data={
        "signed_on": "2026-12-01", "registered_on": "2026-12-01", "registration_number": "Y2026500009999",
        "repayment_method": "equal_principal", "guarantor_org_id": "0", "insurer_org_id": "0"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    loan = signing.loan_of_offer(session, offer.id)
    assert response.headers["Location"].endswith(f"/loans/{loan.id}")
    assert need.status is NeedStatus.FUNDED
    # a second visit of the signing page goes to the loan
    assert client.get(f"/loans/from-offer/{offer.id}").headers["Location"].endswith(f"/loans/{loan.id}")
    repayments.record_repayment(session, bank, loan.id, paid_on=date(2027, 1, 1), principal=Decimal("233333.33"),
                                interest=Decimal("12133.33"), now=AT + timedelta(days=31))
    for user in (bank, ent):
        client.post("/logout")
        login(client, user)
        page = client.get(f"/needs/{need.id}").get_data(as_text=True)
        assert 'data-test="post-loan"' in page and "233,333.33" in page, user.role
        assert f"/loans/from-offer/{offer.id}" not in page
    client.post("/logout")
    login(client, factory.user(Role.BANK))
    page = client.get(f"/needs/{need.id}")
    assert page.status_code == 404 or 'data-test="post-loan"' not in page.get_data(as_text=True)


def test_api_signs_once(client, session, story):
    _token, secret = issue_token(session, story["bank"], "test", "read write", NOW)
    headers = {"Authorization": f"Bearer {secret}"}
    url = f"/api/v1/offers/{story['offer'].id}/loan"
    body = {"signed_on": "2026-12-01", "registration_number": "Y2026500001111"}
    r = client.post(url, headers=headers, json=body)
    assert r.status_code == 201, r.json
    assert r.json["principal"] == "2800000.00" and r.json["offer_id"] == story["offer"].id
    assert len(r.json["pledges"]) == 2
    r = client.post(url, headers=headers, json=body)
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    assert client.post(url, headers=headers, json={"signed_on": "x"}).status_code == 422
    need = client.get(f"/api/v1/needs/{story['need'].id}", headers=headers).json
    assert need["status"] == "funded" and need["loan"]["status"] == "active"
    assert need["loan"]["outstanding_principal"] == "2800000.00" and need["loan"]["repayments"] == []
    _t, ent_secret = issue_token(session, story["ent"], "test", "read write", NOW)
    mine = client.get(f"/api/v1/needs/{story['need'].id}", headers={"Authorization": f"Bearer {ent_secret}"}).json
    assert mine["loan"] is not None and mine["loan"]["principal"] == "2800000.00"


def _race_same_offer(app):
    """Two officers of the bank sign the same accepted offer at the same moment: exactly one loan."""
    from market.db import db
    from tests.conftest import Factory

    with app.app_context():
        kit = NeedsKit(db.session, Factory(db.session))
        ent = kit.enterprise()
        need = kit.published_need(ent)
        first = kit.factory.user(Role.BANK)
        second = kit.factory.user(Role.BANK, org=first.organisation)
        offer = docking.make_offer(db.session, first, need.id, Decimal("1000000"), Decimal("0.05"), 12, NOW)
        docking.accept_offer(db.session, ent, offer.id, NOW)
        db.session.commit()
        ids, offer_id, need_id = [first.id, second.id], offer.id, need.id

    def sign(session, user):
        signing.sign_loan_from_offer(session, user, offer_id, signed_on=SIGNED, now=AT,
                                     registration_number=f"R{user.id}")

    outcomes = run_together(app, ids, sign)
    with app.app_context():
        from market.needs.models import Need

        loans = db.session.scalar(select(func.count()).select_from(Loan).where(Loan.offer_id == offer_id))
        status = db.session.get(Need, need_id).status
    return outcomes, loans, status


def test_same_offer_signed_twice_at_once(make_app):
    import os

    apps = [make_app()]
    if os.environ.get("MARKET_TEST_POSTGRESQL_URL"):
        apps.append(make_app(url=os.environ["MARKET_TEST_POSTGRESQL_URL"]))
    for app in apps:
        outcomes, loans, status = _race_same_offer(app)
        assert outcomes.count("ok") == 1, outcomes
        assert loans == 1 and status is NeedStatus.FUNDED


def test_the_signing_page_records_the_loan_model(client, session, story):
    """The sign-offer form takes the regional model too (here Jiangsu's relationship lending); a wrong one is refused
    in Chinese and nothing is signed."""
    bank, offer = story["bank"], story["offer"]
    login(client, bank)
    base = {"signed_on": "2026-12-01", "registered_on": "2026-12-01", "registration_number": "Y2026500009998",
            "repayment_method": "equal_principal", "guarantor_org_id": "0", "insurer_org_id": "0",
            "counter_guarantor_org_id": "0", "loan_model": "jiangsu", "recommended_by": "重庆市知识产权局"}
    refused = client.post(f"/loans/from-offer/{offer.id}", data=base)  # no day of the recommendation
    assert refused.status_code == 422 and "关系型贷款须填写" in refused.get_data(as_text=True)
    assert _loans(session) == 0
    response = client.post(f"/loans/from-offer/{offer.id}", data={**base, "recommended_on": "2026-11-01"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    loan = signing.loan_of_offer(session, offer.id)
    assert (loan.loan_model.value, loan.recommended_by, loan.recommended_on) == (
        "jiangsu", "重庆市知识产权局", date(2026, 11, 1))
