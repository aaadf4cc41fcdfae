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
from market.exchange import clock, deposits
from market.exchange.models import Bid, Listing, ListingStatus
from tests.conftest import Factory, in_threads
from tests.factories import build_lot

PG_URL_2 = os.environ.get("MARKET_TEST_POSTGRESQL_URL_2")  # a second database: the private app resets its schema
TARGETS = ["sqlite"] + (["postgresql"] if PG_URL_2 else [])


def prepare(app, bidders: int):
    with app.app_context():
        factory = Factory(db.session)
        listing, _ = build_lot(db.session, factory, start=utcnow().replace(microsecond=0) - timedelta(hours=1))
        headers = []
        for _i in range(bidders):
            user = factory.user(Role.BIDDER)
            deposits.pay_deposit(db.session, user, listing, utcnow())
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

    in_threads(bidder, [(h,) for h in headers])
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
                outcomes.append(clock.tick(db.session, end)["closed"])
                db.session.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    in_threads(tick, [()] * 4)
    assert not errors and sorted(outcomes) == [0, 0, 0, 1]
    with app.app_context():
        assert db.session.get(Listing, listing_id).status is ListingStatus.FAILED


def _deposit_threads(app, listing_id, headers):
    results, errors = [], []
    barrier = threading.Barrier(len(headers))

    def pay(h):
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            r = client.post(f"/api/v1/auctions/{listing_id}/deposits", json={"accept_terms": True}, headers=h)
            results.append((r.status_code, (r.get_json() or {}).get("code")))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    in_threads(pay, [(h,) for h in headers])
    return results, errors


def _announced_lot_with_tokens(app, users: int):
    with app.app_context():
        factory = Factory(db.session)
        listing, _ = build_lot(db.session, factory, start=utcnow().replace(microsecond=0) + timedelta(days=1),
                               bidding=False)
        headers = []
        for _i in range(users):
            user = factory.user(Role.BIDDER)
            headers.append({"Authorization": f"Bearer {issue_token(db.session, user, 't', 'read write', utcnow())[1]}"})
        db.session.commit()
        return listing.id, headers


@pytest.mark.parametrize("target", TARGETS)
def test_same_user_pays_the_deposit_twice_at_once(make_app, target):
    app = make_app(**({"url": PG_URL_2} if target == "postgresql" else {}))
    listing_id, [h] = _announced_lot_with_tokens(app, 1)
    results, errors = _deposit_threads(app, listing_id, [h] * 6)
    assert not errors
    assert sorted(code for code, _ in results) == [201, 409, 409, 409, 409, 409], results
    with app.app_context():
        from market.exchange.models import Deposit, LedgerEntry

        assert len(db.session.scalars(select(Deposit).where(Deposit.listing_id == listing_id)).all()) == 1
        assert len(db.session.scalars(select(LedgerEntry).where(LedgerEntry.listing_id == listing_id)).all()) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_bidder_code_clash_takes_a_new_code(make_app, target, monkeypatch):
    from market.exchange import rules

    real = rules.bidder_code
    # Every bidder's first code is the same: each later payment must retry with a new one.
    monkeypatch.setattr(rules, "bidder_code", lambda secret, lid, uid, attempt=0:
                        "AAAA" if attempt == 0 else real(secret, lid, uid, attempt))
    app = make_app(**({"url": PG_URL_2} if target == "postgresql" else {}))
    listing_id, headers = _announced_lot_with_tokens(app, 8)
    results, errors = _deposit_threads(app, listing_id, headers)
    assert not errors
    assert [code for code, _ in results] == [201] * 8, results
    codes = [c for _, c in results]
    assert len(set(codes)) == 8 and "AAAA" in codes


def test_code_clash_in_the_database_is_retried(session, factory, monkeypatch):
    """Belt and braces without the lock: a code already stored (unseen when the taken codes were read) → new code."""
    from market.exchange import rules
    from market.exchange.models import Deposit

    listing, _ = build_lot(session, factory, bidding=False)
    # The lot's own clock (the fixed test date), never the wall clock.
    paid_at = listing.bidding_starts_at - timedelta(days=1)
    first = factory.user(Role.BIDDER)
    deposits.pay_deposit(session, first, listing, paid_at)
    taken = session.scalar(select(Deposit.code).where(Deposit.listing_id == listing.id))
    real = rules.bidder_code
    monkeypatch.setattr(rules, "bidder_code", lambda secret, lid, uid, attempt=0:
                        taken if attempt == 0 else real(secret, lid, uid, attempt))
    original_scalars = session.scalars

    def hide_codes(statement, *a, **kw):  # pretend the first deposit's code was not visible yet
        if "listing_deposit.code" in str(statement) and "bidder_id" not in str(statement):
            return iter(())
        return original_scalars(statement, *a, **kw)

    monkeypatch.setattr(session, "scalars", hide_codes)
    second = deposits.pay_deposit(session, factory.user(Role.BIDDER), listing, paid_at)
    assert second.code != taken
