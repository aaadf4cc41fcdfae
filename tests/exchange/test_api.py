from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from market.accounts.models import Role
from market.exchange.models import Bid
from tests.conftest import NOW
from tests.factories import bearer, build_lot


@pytest.fixture
def live(session, factory):
    """A lot in bidding whose end lies in the real future (the API uses the server's clock)."""
    from market.db import utcnow

    listing, who = build_lot(session, factory, start=utcnow().replace(microsecond=0) - timedelta(hours=1), hours=25)
    return listing



def test_state_and_bids(client, session, factory, live):
    a, b = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
    ha, hb = bearer(session, a), bearer(session, b)
    state = client.get(f"/api/v1/auctions/{live.id}").get_json()
    assert state["status"] == "bidding" and state["current_price"] is None and state["next_min_bid"] == "700000.00"
    assert client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "700000"}, headers=ha).status_code == 403
    dep = client.post(f"/api/v1/auctions/{live.id}/deposits", json={"accept_terms": True}, headers=ha)
    assert dep.status_code == 201 and dep.get_json()["amount"] == "70000.00"
    client.post(f"/api/v1/auctions/{live.id}/deposits", json={"accept_terms": True}, headers=hb)
    r = client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "700000"}, headers=ha)
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "705000.00"}, headers=hb)
    assert r.status_code == 422 and r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": 700000}, headers=hb)
    assert r.status_code == 409
    assert client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "710000.001"}, headers=hb).status_code == 422
    assert client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "abc"}, headers=hb).status_code == 422
    assert client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "710000"}, headers=hb).status_code == 201
    state = client.get(f"/api/v1/auctions/{live.id}").get_json()
    assert state["current_price"] == "710000.00" and state["next_min_bid"] == "720000.00"
    assert [x["amount"] for x in state["bids"]] == ["710000.00", "700000.00"]
    assert all(len(x["code"]) == 4 and "bidder" not in x for x in state["bids"])
    kept = session.scalars(select(Bid.outcome).where(Bid.listing_id == live.id).order_by(Bid.id)).all()
    assert kept == ["accepted", "too_low", "outbid", "accepted"]  # refused bids are kept too


def test_bid_after_close_is_409_with_message(client, session, factory, live):
    a = factory.user(Role.BIDDER)
    ha = bearer(session, a)
    client.post(f"/api/v1/auctions/{live.id}/deposits", json={"accept_terms": True}, headers=ha)
    live.ends_at = live.scheduled_ends_at = NOW  # already past
    session.flush()
    r = client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "900000"}, headers=ha)
    assert r.status_code == 409
    assert r.get_json()["error"]["message"] == "本标的竞价已结束，出价未被接受。"


def test_unknown_lot_and_no_token(client, session, factory, live):
    assert client.get("/api/v1/auctions/999999").status_code == 404
    assert client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "1"}).status_code == 401


def test_listings_and_pages(client, session, factory, live):
    items = client.get("/api/v1/listings").get_json()["items"]
    assert any(x["id"] == live.id for x in items)
    assert client.get(f"/api/v1/listings/{live.id}").get_json()["due_diligence"]["asset"]["kind"] == "invention"
    page = client.get(f"/exchange/{live.id}").get_data(as_text=True)
    assert "auction.js" in page and "<script>" not in page
    assert client.get("/exchange/").status_code == 200 and client.get("/exchange/results").status_code == 200


def test_html_deposit_and_bid(client, session, factory, live, login_as):
    user = login_as(Role.BIDDER)
    client.post(f"/exchange/{live.id}/deposit", data={"accept": "y"})
    client.post(f"/exchange/{live.id}/bid", data={"amount": "700000"})
    session.refresh(live)
    assert live.current_price == D("700000") and live.leader_id == user.id


def test_tick_command_twice(runner, session, factory):
    first = runner.invoke(args=["auctions", "tick"])
    second = runner.invoke(args=["auctions", "tick"])
    assert first.exit_code == 0 and "opened" in first.output and second.exit_code == 0
