"""Security checks beyond tests/test_security.py: another organisation's ids are refused across the areas (never the
data), script probes in more text fields come back escaped, secrets never reach the logs, and the main pages of each
role raise no CSP violation in a real browser."""

from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.accounts.models import OrgKind, Role
from market.db import db
from market.exchange import deposits
from market.ip.models import IpAsset
from market.loans.models import Loan, LoanStatus
from market.needs import docking
from market.needs import service as needs
from market.needs.models import Need, Offer, OfferStatus
from market.notices.models import NoticeRead
from market.notices.service import notify
from tests.conftest import NOW, PASSWORD, login, screenshot
from tests.factories import NeedsKit, build_lot, make_asset

REFUSED = {403, 404}
PROBE = '<script>alert("xss")</script>'
ESCAPED = "&lt;script&gt;"


def secret() -> str:
    return f"机密{uuid.uuid4().hex[:12]}"


def token_for(client, user) -> dict:
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def outsiders(client, factory, roles):
    """A new user of each role in turn, logged in on `client`: yields (role, the user's bearer headers)."""
    for role in roles:
        other = factory.user(role)
        login(client, other)
        yield role, token_for(client, other)


def refused(response, *sentinels: str, allow_redirect: bool = False) -> None:
    """Refused (403/404, or a redirect with a message for form actions) and none of the owner's data in the body."""
    allowed = REFUSED | ({302, 303} if allow_redirect else set())
    body = response.get_data(as_text=True)
    assert response.status_code in allowed, (response.status_code, body[:300])
    for sentinel in sentinels:
        assert sentinel not in body


# --------------------------------------------------------------------------------------------- objects


@pytest.fixture
def kit(session, factory):
    return NeedsKit(session, factory)


def draft_need(kit, purpose: str):
    owner = kit.enterprise()
    asset = make_asset(kit.session, owner.organisation)
    need = needs.create_need(kit.session, owner, kit.data([asset], purpose=purpose), NOW, submit=False)
    kit.session.commit()
    return owner, need, asset


def test_needs_of_another_enterprise_are_refused(client, session, factory, kit):
    purpose = secret()
    owner, need, asset = draft_need(kit, purpose)
    # Positive control: the owner sees it.
    login(client, owner)
    assert purpose in client.get(f"/needs/{need.id}").get_data(as_text=True)
    client.post("/logout")

    for role, headers in outsiders(client, factory, (Role.ENTERPRISE, Role.BANK)):
        refused(client.get(f"/needs/{need.id}"), purpose)
        refused(client.get(f"/api/v1/needs/{need.id}", headers=headers), purpose)
        if role is Role.ENTERPRISE:
            refused(client.get(f"/needs/{need.id}/edit"), purpose)
            refused(client.post(f"/needs/{need.id}/edit", data={"title": "改", "purpose": "改"}), purpose,
                    allow_redirect=True)
            refused(client.post(f"/needs/{need.id}/submit"), purpose, allow_redirect=True)
            refused(client.post(f"/needs/{need.id}/withdraw"), purpose, allow_redirect=True)
            body = {"title": "改", "amount": "1000000.00", "term_months": 12, "purpose": "改", "max_rate": "0.06",
                    "asset_ids": [asset.id]}
            refused(client.put(f"/api/v1/needs/{need.id}", json=body, headers=headers), purpose)
            refused(client.post(f"/api/v1/needs/{need.id}/submit", headers=headers), purpose)
            assert purpose not in client.get("/needs/mine").get_data(as_text=True)
        client.post("/logout")
    session.expire_all()
    kept = session.get(Need, need.id)
    assert kept.purpose == purpose and kept.status.value == "draft"


def test_offers_and_products_of_another_organisation_are_refused(client, session, factory, kit):
    bank = factory.user(Role.BANK)
    product_name = secret()
    product = kit.product(bank, name=product_name)
    need = kit.published_need()
    conditions = secret()
    offer = docking.make_offer(session, bank, need.id, Decimal("1000000.00"), Decimal("0.0500"), 12, NOW,
                               conditions=conditions)
    session.commit()

    other_enterprise = factory.user(Role.ENTERPRISE)
    login(client, other_enterprise)
    headers = token_for(client, other_enterprise)
    for action in ("accept", "decline"):
        refused(client.post(f"/needs/offers/{offer.id}/{action}"), conditions, allow_redirect=True)
        refused(client.post(f"/api/v1/offers/{offer.id}/{action}", headers=headers), conditions)
    client.post("/logout")

    other_bank = factory.user(Role.BANK)
    login(client, other_bank)
    headers = token_for(client, other_bank)
    refused(client.post(f"/needs/offers/{offer.id}/withdraw"), conditions, allow_redirect=True)
    refused(client.post(f"/api/v1/offers/{offer.id}/withdraw", headers=headers), conditions)
    refused(client.get(f"/needs/products/{product.id}/edit"), product_name)
    refused(client.post(f"/needs/products/{product.id}/edit", data={"name": "改"}), product_name)
    assert product_name not in client.get("/needs/products").get_data(as_text=True)
    refused(client.get(f"/loans/from-offer/{offer.id}"), conditions, allow_redirect=True)
    session.expire_all()
    assert session.get(Offer, offer.id).status is OfferStatus.PENDING
    assert session.get(type(product), product.id).name == product_name


def test_loans_of_another_bank_or_enterprise_are_refused(client, session, factory):
    bank = factory.user(Role.BANK)
    enterprise = factory.org(OrgKind.ENTERPRISE)
    registration = f"X{uuid.uuid4().int % 10**12:012d}"
    from tests.factories import confirmed_loan

    loan = confirmed_loan(session, bank, enterprise, principal=Decimal("4000000"), annual_rate=Decimal("0.0500"),
                          term_months=12, asset_ids=[make_asset(session, enterprise).id],
                          signed_on=date(2016, 3, 1), now=NOW, registration_number=registration)
    session.commit()
    login(client, bank)  # positive control
    assert registration in client.get(f"/loans/{loan.id}").get_data(as_text=True)
    client.post("/logout")

    for role, headers in outsiders(client, factory, (Role.BANK, Role.ENTERPRISE, Role.GUARANTOR, Role.INSURER)):
        refused(client.get(f"/loans/{loan.id}"), registration)
        refused(client.get(f"/api/v1/loans/{loan.id}", headers=headers), registration)
        if role is Role.BANK:
            refused(client.post(f"/loans/{loan.id}/repayments", data={"amount": "1000", "paid_on": "2016-04-01"}),
                    registration, allow_redirect=True)
            refused(client.post(f"/loans/{loan.id}/default", data={"reason": "x", "confirmed": "y"}), registration,
                    allow_redirect=True)
            refused(client.post(f"/loans/{loan.id}/claim", data={"recovery": "0", "evidence": "x"}), registration,
                    allow_redirect=True)
            refused(client.post(f"/api/v1/loans/{loan.id}/default", json={"reason": "x"}, headers=headers),
                    registration)
            repayment = {"paid_on": "2016-04-01", "principal": "1000"}
            refused(client.post(f"/api/v1/loans/{loan.id}/repayments", json=repayment, headers=headers),
                    registration)
        client.post("/logout")
    session.expire_all()
    kept = session.get(Loan, loan.id)
    assert kept.status is LoanStatus.ACTIVE


def test_ip_asset_of_another_enterprise_cannot_be_edited(client, session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation)
    hidden_abstract = secret()
    asset.abstract = hidden_abstract
    session.commit()
    title = asset.title
    other = factory.user(Role.ENTERPRISE)
    login(client, other)
    response = client.get(f"/ip/{asset.id}/edit")
    refused(response, allow_redirect=True)
    assert 'name="title"' not in response.get_data(as_text=True)  # never the edit form with the owner's values
    response = client.post(f"/ip/{asset.id}/edit",
                           data={"kind": "invention", "title": "被篡改", "legal_status": "lapsed"})
    refused(response, allow_redirect=True)
    assert title not in client.get("/ip/mine").get_data(as_text=True)
    session.expire_all()
    kept = session.get(IpAsset, asset.id)
    assert kept.title == title and kept.legal_status.value == "granted"


def test_deposits_and_listings_of_others_are_refused(client, session, factory):
    listing, parties = build_lot(session, factory, start=NOW - timedelta(hours=1))
    bidder = factory.user(Role.BIDDER)
    deposit = deposits.pay_deposit(session, bidder, listing, NOW)
    session.commit()
    other_bank = factory.user(Role.BANK)  # not the lot's bank
    login(client, other_bank)
    refused(client.get(f"/exchange/staff/{listing.id}"), deposit.code, bidder.email)
    for action in ("submit", "cancel", "payment", "review"):
        refused(client.post(f"/exchange/staff/{listing.id}/{action}"), deposit.code, bidder.email,
                allow_redirect=True)
    client.post("/logout")

    other_bidder = factory.user(Role.BIDDER)
    login(client, other_bidder)
    headers = token_for(client, other_bidder)
    page = client.get(f"/exchange/{listing.id}").get_data(as_text=True)
    state = client.get(f"/api/v1/auctions/{listing.id}", headers=headers).get_data(as_text=True)
    for body in (page, state):
        assert bidder.email not in body and bidder.name not in body  # bidders are codes, never identities
    # Bidding with someone else's deposit is impossible: no deposit of one's own → 403.
    response = client.post(f"/api/v1/auctions/{listing.id}/bids", json={"amount": "700000"}, headers=headers)
    assert response.status_code == 403
    session.expire_all()
    kept = session.get(type(listing), listing.id)
    assert kept.bid_count == 0 and kept.status.value == "bidding"


def test_notices_of_another_user_are_refused(client, session, factory):
    owner = factory.user(Role.ENTERPRISE)
    notice = notify(session, msgid="Your need was published.", now=NOW, user_id=owner.id)
    session.commit()
    other = factory.user(Role.ENTERPRISE)
    login(client, other)
    refused(client.post(f"/notices/{notice.id}/read"), allow_redirect=False)
    session.expire_all()
    assert session.scalars(select(NoticeRead).where(NoticeRead.notice_id == notice.id)).all() == []


def test_api_token_of_another_user_cannot_be_revoked(client, factory):
    owner, other = factory.user(Role.BANK), factory.user(Role.BANK)
    owner_headers = token_for(client, owner)
    mine = client.get("/api/v1/tokens", headers=owner_headers).get_json()
    token_id = (mine["items"] if isinstance(mine, dict) else mine)[0]["id"]
    response = client.delete(f"/api/v1/tokens/{token_id}", headers=token_for(client, other))
    assert response.status_code in REFUSED
    assert client.get("/api/v1/me", headers=owner_headers).status_code == 200  # the owner's token still works


# ----------------------------------------------------------------------------------------- escaping


def test_script_probes_in_need_asset_and_product_fields_come_back_escaped(client, session, factory, kit):
    enterprise = kit.enterprise()
    asset = make_asset(kit.session, enterprise.organisation, title=f"专利{PROBE}")
    need = needs.create_need(session, enterprise, kit.data([asset], purpose=f"用途{PROBE}", title=f"需求{PROBE}"),
                             NOW, submit=False)
    bank = factory.user(Role.BANK)
    kit.product(bank, name=f"产品{PROBE}")
    session.commit()

    login(client, enterprise)
    pages = [f"/needs/{need.id}", "/needs/mine", f"/patents/{asset.id}", "/ip/mine", f"/ip/{asset.id}/edit",
             f"/needs/{need.id}/edit"]
    for path in pages:
        body = client.get(path).get_data(as_text=True)
        assert PROBE not in body, path
    assert ESCAPED in client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert ESCAPED in client.get("/ip/mine").get_data(as_text=True)
    client.post("/logout")
    login(client, bank)
    for path in ("/needs/products", "/needs/products/new"):
        assert PROBE not in client.get(path).get_data(as_text=True), path
    assert ESCAPED in client.get("/needs/products").get_data(as_text=True)


# -------------------------------------------------------------------------------------------- logs


def test_passwords_and_tokens_never_reach_the_logs(client, factory, caplog):
    user = factory.user(Role.BANK)
    caplog.set_level(logging.DEBUG)
    login(client, user)
    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": "wrong-" + PASSWORD})  # a failed log-in too
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    token = response.get_json()["token"]
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong-" + PASSWORD})
    text = "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, 'exc_text', '') or ''}" for r in caplog.records)
    text += caplog.text
    for value in (PASSWORD, token, token[10:]):
        assert value not in text


# --------------------------------------------------------------------------------------- browser CSP


MAIN_PAGES = {
    "enterprise": ["/workspace", "/ip/mine", "/ip/new", "/needs/mine", "/needs/new", "/loans/", "/plans", "/notices/"],
    "bank": ["/workspace", "/patents?q=电池", "/needs/", "/needs/bank", "/needs/products", "/loans/", "/exchange/"],
    "bidder": ["/workspace", "/exchange/"],
    "staff": ["/workspace", "/staff/", "/staff/organisations", "/staff/audit", "/needs/review", "/exchange/"],
    "valuer": ["/workspace"],
    "guarantor": ["/workspace"],
    "insurer": ["/workspace"],
}


@pytest.mark.browser
def test_main_pages_of_each_role_have_no_csp_violations(live_server, page_for):
    app, url = live_server
    from tests.reliability.helpers import make_user

    violations = []
    for role, paths in MAIN_PAGES.items():
        _, email = make_user(app, role)
        page = page_for()
        page.on("console", lambda msg: violations.append(msg.text)
                if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text else None)
        page.goto(f"{url}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state("networkidle")
        assert "/login" not in page.url, f"log-in as {role} failed"
        for path in ["/", *paths, "/stats"]:
            response = page.goto(url + path)
            page.wait_for_load_state("networkidle")
            assert response is not None and response.status < 500, (role, path, response and response.status)
            csp = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, (path, csp)
        screenshot(page, f"csp-{role}-last-page")
    assert not violations, violations  # page_for also fails the test on any console error
    with app.app_context():
        db.session.remove()
