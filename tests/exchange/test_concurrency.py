"""Bids from threads over real connections (own database per test): serialised per lot, none lost or double-counted."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from market.accounts.models import Role
from market.api.auth import issue_token
from market.db import db, utcnow
from market.exchange import service
from market.exchange.models import Bid, Listing, ListingStatus
from tests.conftest import Factory
from tests.exchange.conftest import build_lot

PG_URL_2 = os.environ.get("MARKET_TEST_POSTGRESQL_URL_2")  # a second database: the private app resets its schema
TARGETS = ["sqlite"] + (["postgresql"] if PG_URL_2 else [])


def prepare(app, bidders: int):
    with app.app_context():
        factory = Factory(db.session)
        listing, _ = build_lot(db.session, factory, start=utcnow().replace(microsecond=0) - timedelta(hours=1))
        headers = []
        for _i in range(bidders):
            user = factory.user(Role.BIDDER)
            service.pay_deposit(db.session, user, listing, utcnow())
            secret = issue_token(db.session, user, "t", "read write", utcnow())[1]
            headers.append({"Authorization": f"Bearer {secret}"})
        db.session.commit()
        return listing.id, headers


def run_bidders(app, listing_id, headers, rounds):
    results, errors = [], []

    def bidder(h):
        client = app.test_client()
        try:
            for _ in range(rounds):
                state = client.get(f"/api/v1/auctions/{listing_id}").get_json()
                r = client.post(f"/api/v1/auctions/{listing_id}/bids", json={"amount": state["next_min_bid"]},
                                headers=h)
                results.append((r.status_code, state["next_min_bid"]))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(repr(exc))

    threads = [threading.Thread(target=bidder, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@pytest.mark.parametrize("target", TARGETS)
def test_concurrent_bids_serialised(make_app, target):
    app = make_app(**({"url": PG_URL_2} if target == "postgresql" else {}))
    listing_id, headers = prepare(app, 8)
    results, errors = run_bidders(app, listing_id, headers, 5)
    assert not errors
    assert {code for code, _ in results} <= {201, 409}, results
    accepted_responses = sum(1 for code, _ in results if code == 201)
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        bids = db.session.scalars(select(Bid).where(Bid.listing_id == listing_id, Bid.accepted.is_(True))
                                  .order_by(Bid.id)).all()
        assert len(bids) == accepted_responses == listing.bid_count > 0
        for prev, cur in zip(bids, bids[1:], strict=False):
            assert cur.amount >= prev.amount + listing.increment
        assert listing.current_price == bids[-1].amount == max(b.amount for b in bids)
        assert len(db.session.scalars(select(Bid).where(Bid.listing_id == listing_id)).all()) == len(results)


@pytest.mark.parametrize("target", TARGETS)
def test_concurrent_ticks_close_once(make_app, target):
    app = make_app(**({"url": PG_URL_2} if target == "postgresql" else {}))
    listing_id, headers = prepare(app, 2)
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        end = listing.ends_at
        db.session.commit()
    outcomes, errors = [], []

    def tick():
        try:
            with app.app_context():
                outcomes.append(service.tick(db.session, end)["closed"])
                db.session.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(outcomes) == [0, 0, 0, 1]
    with app.app_context():
        assert db.session.get(Listing, listing_id).status is ListingStatus.FAILED
