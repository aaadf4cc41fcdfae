"""The auction page a bidder trusts (issue 16 §5): announcement and terms accepted with the deposit (who, when, which
version), the bidder's standing and the lot's counters, the result after the end without any button, the public list
by phase with kind/IPC filters, licence terms, staff times in Beijing time; and the state that stays cheap while
bidding goes on (issue 13 §6): the latest bids with the count, older bids by page, ETag/304."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.db import utcnow
from market.errors import InvalidInput
from market.exchange import bidding, clock, deposits, listings
from market.exchange.models import Deposit, Listing, ListingKind, ListingStatus
from market.exchange.terms import terms_version
from market.exchange.views_state import LATEST_BIDS
from tests.factories import bearer, build_lot


@pytest.fixture
def live(session, factory):
    listing, who = build_lot(session, factory, start=utcnow().replace(microsecond=0) - timedelta(hours=1), hours=25)
    listing.description = "专利权人拟整体转让；附实施许可一份，已备案。"
    session.flush()
    return listing


def test_the_deposit_accepts_the_announcement_and_terms(client, session, factory, live, login_as):
    page = client.get(f"/exchange/{live.id}").get_data(as_text=True)
    assert "拍卖公告" in page and "竞买须知" in page and "专利权人拟整体转让" in page
    assert terms_version(live) in page
    user = login_as(Role.BIDDER)
    # Without ticking the acceptance no deposit is taken
    r = client.post(f"/exchange/{live.id}/deposit", data={"terms_version": terms_version(live)},
                    follow_redirects=True)
    assert "接受拍卖公告和竞买须知" in r.get_data(as_text=True)
    assert session.scalar(select(Deposit).where(Deposit.bidder_id == user.id)) is None
    # A page read before the terms changed: refused, nothing kept
    client.post(f"/exchange/{live.id}/deposit", data={"accept": "y", "terms_version": "terms-1999/old/round-1"})
    assert session.scalar(select(Deposit).where(Deposit.bidder_id == user.id)) is None
    client.post(f"/exchange/{live.id}/deposit", data={"accept": "y", "terms_version": terms_version(live)})
    deposit = session.scalar(select(Deposit).where(Deposit.bidder_id == user.id))
    assert deposit.terms_version == terms_version(live) and deposit.terms_accepted_at is not None
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "listing.deposit_paid",
                                                    AuditEntry.actor_id == user.id))
    assert audit.after["terms_version"] == terms_version(live)


def test_the_api_deposit_needs_accept_terms(client, session, factory, live):
    h = bearer(session, factory.user(Role.BIDDER))
    url = f"/api/v1/auctions/{live.id}/deposits"
    assert client.post(url, headers=h).status_code == 422
    assert client.post(url, json={"accept_terms": False}, headers=h).status_code == 422
    assert client.post(url, json={"accept_terms": True, "terms_version": "old"}, headers=h).status_code == 409
    detail = client.get(f"/api/v1/listings/{live.id}").get_json()
    assert detail["description"].startswith("专利权人") and detail["terms_version"] == terms_version(live)
    r = client.post(url, json={"accept_terms": True, "terms_version": detail["terms_version"]}, headers=h)
    assert r.status_code == 201 and r.get_json()["terms_version"] == terms_version(live)


def test_standing_counters_and_confirmation(client, session, factory, live, login_as):
    rival = factory.user(Role.BIDDER)
    me = login_as(Role.BIDDER)
    now = utcnow()
    for user in (me, rival):
        deposits.pay_deposit(session, user, live, now)
    bidding.place_bid(session, me, live.id, D("700000"), now)
    session.commit()
    page = client.get(f"/exchange/{live.id}").get_data(as_text=True)
    assert "您是当前最高出价人" in page and 'data-test="confirm-bid"' in page
    bidding.place_bid(session, rival, live.id, D("710000"), utcnow())
    live.ends_at = utcnow() + timedelta(minutes=2)
    bidding.place_bid(session, me, live.id, D("720000"), utcnow())  # in the last five minutes: one extension
    bidding.place_bid(session, rival, live.id, D("730000"), utcnow())
    session.commit()
    page = client.get(f"/exchange/{live.id}").get_data(as_text=True)
    assert "您已被超越" in page
    state = client.get(f"/api/v1/auctions/{live.id}").get_json()
    assert (state["bid_count"], state["extension_count"], state["registered_bidders"]) == (4, 2, 2)
    assert 'data-field="extension_count">2<' in page and 'data-field="registered_bidders">2<' in page


def test_after_the_end_the_page_shows_the_result_without_buttons(client, session, factory, live, login_as):
    """Bidding ended a second ago and no clock has closed the lot yet: no "bidding · closed" with a deposit button."""
    winner = factory.user(Role.BIDDER)
    deposits.pay_deposit(session, winner, live, utcnow())
    bidding.place_bid(session, winner, live.id, D("700000"), utcnow())
    live.ends_at = utcnow() - timedelta(seconds=1)
    session.commit()
    login_as(Role.BIDDER)
    page = client.get(f"/exchange/{live.id}").get_data(as_text=True)
    assert live.status is ListingStatus.BIDDING
    code = session.scalar(select(Deposit.code).where(Deposit.bidder_id == winner.id))
    assert "竞价已结束" in page and f"竞买人 {code}" in page and "¥700,000.00" in page
    assert 'data-test="deposit-form"' not in page and 'data-test="bid-form"' not in page
    assert ">竞价中<" not in page and 'data-status="bidding"' not in page
    state = client.get(f"/api/v1/auctions/{live.id}").get_json()
    assert state["phase"] == "finished" and state["winner_code"] == code and state["next_min_bid"] is None


def test_unsold_after_the_end(client, session, factory, live, login_as):
    live.ends_at = utcnow() - timedelta(seconds=1)
    session.commit()
    login_as(Role.BIDDER)
    page = client.get(f"/exchange/{live.id}").get_data(as_text=True)
    assert "无人出价，本标的流拍。" in page and 'data-test="deposit-form"' not in page


def test_the_list_by_phase_with_kind_and_ipc(client, session, factory, live):
    upcoming, _ = build_lot(session, factory, bidding=False, start=utcnow() + timedelta(days=3))
    upcoming.asset.ipc_codes = ["G06F16/30"]
    finished, _ = build_lot(session, factory, start=utcnow() - timedelta(days=3), hours=24)
    clock.tick(session, utcnow())
    session.commit()
    assert finished.status is ListingStatus.FAILED

    def rows(query=""):
        page = client.get(f"/exchange/{query}").get_data(as_text=True)
        return {x.id for x in (live, upcoming, finished) if f'href="/exchange/{x.id}"' in page}

    assert rows() == {live.id, upcoming.id, finished.id}
    assert rows("?phase=upcoming") == {upcoming.id}
    assert rows("?phase=live") == {live.id}
    assert rows("?phase=finished") == {finished.id}
    assert rows("?ipc=g06f") == {upcoming.id}
    assert rows("?ipc=H01M&phase=live") == {live.id}
    assert rows("?kind=licence") == set()
    page = client.get("/exchange/").get_data(as_text=True)
    assert "即将开拍" in page and "G06F16/30" in page and "权利转让拍卖" in page
    api = client.get("/api/v1/listings?phase=upcoming&ipc=G06F").get_json()
    assert [x["id"] for x in api["items"]] == [upcoming.id] and api["items"][0]["ipc"] == ["G06F16/30"]


def test_licence_terms_on_the_page_and_the_api(client, session, factory):
    listing, _ = build_lot(session, factory, bidding=False, start=utcnow() + timedelta(days=3))
    listing.kind = ListingKind.LICENCE
    listings.set_licence_terms(listing, {"exclusive": True, "territory": "川渝地区", "term_months": 60,
                                        "royalty": D("0.035")})
    session.commit()
    page = client.get(f"/exchange/{listing.id}").get_data(as_text=True)
    assert "独占许可" in page and "川渝地区" in page and "60 个月" in page and "3.50%" in page
    body = client.get(f"/api/v1/listings/{listing.id}").get_json()
    assert body["licence"] == {"exclusive": True, "territory": "川渝地区", "term_months": 60, "royalty": "0.035000"}
    with pytest.raises(InvalidInput):
        listings.set_licence_terms(listing, {"exclusive": True, "territory": "川渝地区", "term_months": 0})


def test_state_carries_the_latest_bids_and_pages_older_ones(client, session, factory, live):
    a, b = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
    now = utcnow()
    for user in (a, b):
        deposits.pay_deposit(session, user, live, now)
    n = LATEST_BIDS + 7
    for i in range(n):
        bidding.place_bid(session, (a, b)[i % 2], live.id, D("700000") + D("10000") * i, now)
    session.commit()
    r = client.get(f"/api/v1/auctions/{live.id}")
    state = r.get_json()
    assert set(state) >= {"status", "current_price", "next_min_bid", "ends_at", "bids", "bid_count"}
    assert state["bid_count"] == n and len(state["bids"]) == LATEST_BIDS
    assert state["bids"][0]["amount"] == str(D("700000") + D("10000") * (n - 1)) + ".00"
    older = client.get(state["older_bids"]).get_json()
    assert len(older["bids"]) == 7 and older["older_bids"] is None
    assert older["bids"][-1]["amount"] == "700000.00"
    every = [x["id"] for x in state["bids"] + older["bids"]]
    assert every == sorted(every, reverse=True) and len(set(every)) == n
    # A poller with the last ETag gets a bodyless 304 until something changes
    tag = r.headers["ETag"]
    again = client.get(f"/api/v1/auctions/{live.id}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    bidding.place_bid(session, a, live.id, D("700000") + D("10000") * n, utcnow())
    session.commit()
    changed = client.get(f"/api/v1/auctions/{live.id}", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag and changed.get_json()["bid_count"] == n + 1
    assert client.get(f"/api/v1/auctions/{live.id}/bid-history?limit=0").status_code == 422


def test_staff_times_are_beijing_time(client, session, factory):
    from tests.conftest import login
    from tests.factories import make_asset

    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation, filing_date=date(2017, 5, 2))
    session.commit()
    login(client, owner)
    form = client.get("/exchange/new").get_data(as_text=True)
    assert "北京时间" in form and "UTC" not in form
    start = (utcnow() + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
    local = start + timedelta(hours=8)
    fmt = "%Y-%m-%dT%H:%M"
    r = client.post("/exchange/new", data={
        "asset_id": asset.id, "kind": "licence", "valuation": "1000000", "starting_price": "700000",
        "increment": "10000", "deposit_amount": "70000", "notice_starts_at": local.strftime(fmt),
        "bidding_starts_at": (local + timedelta(days=30)).strftime(fmt),
        "ends_at": (local + timedelta(days=31)).strftime(fmt), "licence_exclusive": "no",
        "licence_territory": "重庆市", "licence_term_months": "24", "licence_royalty": "2.5"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    listing = session.scalar(select(Listing).where(Listing.asset_id == asset.id))
    assert listing.notice_starts_at == start  # typed 09:00 Beijing time, stored 01:00 UTC
    assert listing.kind is ListingKind.LICENCE and listing.licence_royalty == D("0.025")
    assert listing.licence_exclusive is False and listing.licence_term_months == 24
