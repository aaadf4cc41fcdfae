"""Auction rules that cannot be walked around (docs/security.md, V4): the notice counts from publication, bids lie
on the increment grid, a bid before the opening says so, and bidders are codes to everyone but staff until the
close. Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from market.accounts.models import OrgKind, Role
from market.exchange import clock, listings, rules
from market.exchange.models import ListingSource, ListingStatus
from tests.conftest import NOW, login
from tests.exchange.test_api import live  # noqa: F401 - `live` is a fixture
from tests.factories import CHECKED, LOT_ASSET, bearer, build_lot, make_asset

ACCEPT = {"accept_terms": True}  # paying the deposit accepts the announcement and terms


def _listing(session, factory, notice, bidding, hours=24):
    bank = factory.user(Role.BANK)
    asset = make_asset(session, factory.org(OrgKind.ENTERPRISE).id, **LOT_ASSET)
    listing = listings.create_listing(
        session, bank, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=D("1000000"),
        starting_price=D("700000"), increment=D("10000"), deposit_amount=D("70000"), notice_starts_at=notice,
        bidding_starts_at=bidding, ends_at=bidding + timedelta(hours=hours), now=NOW)
    listings.submit_listing(session, bank, listing, NOW)
    return listing


def test_notice_typed_a_month_back_counts_from_publication(session, factory):
    """Typed: notice from a month ago, bidding tomorrow. Approved now: bidding opens 30 days from now, not tomorrow;
    the whole schedule moves (24 h of bidding kept) and the notice starts at the moment of publication."""
    listing = _listing(session, factory, NOW - timedelta(days=31), NOW + timedelta(days=1))
    listings.review_listing(session, factory.user(Role.STAFF), listing, CHECKED, True, NOW)
    assert listing.status is ListingStatus.ANNOUNCED
    assert listing.notice_starts_at == NOW
    assert listing.bidding_starts_at == NOW + timedelta(days=rules.NOTICE_DAYS)
    assert listing.ends_at == listing.scheduled_ends_at == listing.bidding_starts_at + timedelta(hours=24)
    assert clock.tick(session, NOW + timedelta(days=1))["opened"] == 0
    assert clock.tick(session, NOW + timedelta(days=30) - timedelta(seconds=1))["opened"] == 0
    session.refresh(listing)
    assert listing.status is ListingStatus.ANNOUNCED
    assert clock.tick(session, NOW + timedelta(days=30))["opened"] == 1


def test_a_schedule_with_the_full_notice_stays_as_typed(session, factory):
    bidding = NOW + timedelta(days=40)
    listing = _listing(session, factory, NOW + timedelta(days=2), bidding)
    listings.review_listing(session, factory.user(Role.STAFF), listing, CHECKED, True, NOW)
    assert (listing.notice_starts_at, listing.bidding_starts_at) == (NOW, bidding)


def test_reauction_notice_counts_from_its_creation(session, factory):
    """A re-auction is announced when staff schedule it: 15 days from then, whatever notice date was typed."""
    lot, who = build_lot(session, factory, start=NOW - timedelta(days=3))
    clock.tick(session, NOW - timedelta(days=1))  # closes without a bid: failed
    session.refresh(lot)
    assert lot.status is ListingStatus.FAILED
    typed_notice = NOW - timedelta(days=20)
    again = listings.create_reauction(
        session, who["staff"], lot, starting_price=D("600000"), deposit_amount=D("60000"), increment=D("10000"),
        notice_starts_at=typed_notice, bidding_starts_at=typed_notice + timedelta(days=15),
        ends_at=typed_notice + timedelta(days=16), now=NOW)
    assert again.notice_starts_at == NOW
    assert again.bidding_starts_at == NOW + timedelta(days=rules.REAUCTION_NOTICE_DAYS)
    assert clock.tick(session, NOW + timedelta(hours=1))["opened"] == 0


def test_the_grid():
    start, step = D("700000"), D("10000")
    assert rules.on_grid(D("700000"), start, step, None) and rules.on_grid(D("720000"), start, step, None)
    assert not rules.on_grid(D("705000"), start, step, None)
    assert rules.on_grid(D("735000"), start, step, D("715000")) and not rules.on_grid(D("730000"), start, step,
                                                                                       D("715000"))
    verdict = rules.judge_bid(D("725000"), starting_price=start, increment=step, current_price=D("710000"),
                              ends_at=NOW + timedelta(hours=1), now=NOW)
    assert verdict == rules.BidVerdict.OFF_GRID
    assert rules.grid_neighbours(D("725000"), start, step, D("710000")) == (D("720000"), D("730000"))


def test_bid_off_the_grid_is_422_with_the_valid_bids(client, session, factory, live):  # noqa: F811
    a = factory.user(Role.BIDDER, locale="en")
    ha = bearer(session, a)
    assert client.post(f"/api/v1/auctions/{live.id}/deposits", json=ACCEPT, headers=ha).status_code == 201
    r = client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "712345"}, headers=ha)
    assert r.status_code == 422, r.get_json()
    message = r.get_json()["error"]["message"]
    assert "710000.00" in message and "720000.00" in message and "712345" in message, message
    assert client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "720000"}, headers=ha).status_code == 201
    r = client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "735000"}, headers=ha)
    assert r.status_code == 422
    session.refresh(live)
    assert live.current_price == D("720000") and live.bid_count == 1


def test_bid_before_the_opening_says_it_has_not_opened(client, session, factory):
    from market.db import utcnow

    lot, _who = build_lot(session, factory, start=utcnow().replace(microsecond=0) + timedelta(days=2), bidding=False)
    a = factory.user(Role.BIDDER)
    ha = bearer(session, a)
    assert client.post(f"/api/v1/auctions/{lot.id}/deposits", json=ACCEPT, headers=ha).status_code == 201
    r = client.post(f"/api/v1/auctions/{lot.id}/bids", json={"amount": "700000"}, headers=ha)
    assert r.status_code == 409
    message = r.get_json()["error"]["message"]
    assert "尚未开始" in message and "已结束" not in message, message
    beijing = lot.bidding_starts_at + timedelta(hours=8)  # stored naive UTC; told in Beijing time, not UTC
    assert "北京时间" in message and beijing.strftime("%H:%M") in message and "UTC" not in message, message


def test_bidders_are_codes_to_the_selling_bank_until_the_close(client, session, factory, live):  # noqa: F811
    """While bidding is open the lot's author (the bank) sees codes on the desk API and page; staff see who."""
    from market.db import utcnow

    bidder = factory.user(Role.BIDDER, name="竞买人张三")
    hb = bearer(session, bidder)
    assert client.post(f"/api/v1/auctions/{live.id}/deposits", json=ACCEPT, headers=hb).status_code == 201
    assert client.post(f"/api/v1/auctions/{live.id}/bids", json={"amount": "700000"}, headers=hb).status_code == 201
    bank = session.get(type(bidder), live.created_by_id)
    url = f"/api/v1/disposal/listings/{live.id}"
    desk = client.get(url, headers=bearer(session, bank)).get_json()
    assert [d["bidder_id"] for d in desk["deposits"]] == [None]
    assert all(len(d["code"]) == 4 for d in desk["deposits"])
    staff = factory.user(Role.STAFF)
    assert [d["bidder_id"] for d in client.get(url, headers=bearer(session, staff)).get_json()["deposits"]] == [
        bidder.id]
    for path in (f"/api/v1/auctions/{live.id}", f"/api/v1/listings/{live.id}"):
        body = client.get(path, headers=bearer(session, bank)).get_data(as_text=True)
        assert "bidder_id" not in body and bidder.name not in body and bidder.email not in body
    login(client, bank)
    for path in (f"/exchange/staff/{live.id}", f"/exchange/{live.id}"):
        page = client.get(path).get_data(as_text=True)
        assert bidder.name not in page and bidder.email not in page, path
    # after the close the winner is published: the author may see who the bidders were
    clock.tick(session, utcnow() + timedelta(days=2))
    session.commit()
    desk = client.get(url, headers=bearer(session, bank)).get_json()
    assert desk["status"] == "sold" and [d["bidder_id"] for d in desk["deposits"]] == [bidder.id]
