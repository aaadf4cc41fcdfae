"""The clocks run inside the server (market.clock): `market tick` runs every area's clock, the database lock keeps
two runs of one clock apart (threads on SQLite and PostgreSQL), and a real `market serve` closes an ended auction
on its own, with nobody running a command."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.clock import Clock, ClockRun, run_clock
from market.db import db
from market.exchange import bidding, clock, deposits
from market.exchange.models import Listing, ListingStatus
from tests.conftest import NOW, Factory, in_threads
from tests.factories import build_lot
from tests.service.helpers import Server, wall_now


def _lot_ending(app, ends_in: float, *, bid: bool = True, now=None) -> tuple[int, int | None]:
    """A lot in bidding whose end is `ends_in` seconds after `now` (one bidder's bid on it when `bid`)."""
    with app.app_context():
        s = db.session
        factory = Factory(s)
        now = now or NOW
        start = now - timedelta(hours=24) + timedelta(seconds=ends_in)
        listing, _who = build_lot(s, factory, start=start, hours=24)
        bidder_id = None
        if bid:
            bidder = factory.user(Role.BIDDER)
            deposits.pay_deposit(s, bidder, listing, start + timedelta(seconds=1))
            assert bidding.place_bid(s, bidder, listing.id, Decimal("700000"), start + timedelta(seconds=2)).accepted
            bidder_id = bidder.id
        s.commit()
        assert listing.status is ListingStatus.BIDDING
        return listing.id, bidder_id


def test_market_tick_runs_every_clock_and_records_it(private_app):
    listing_id, bidder_id = _lot_ending(private_app, -60)  # ended a minute before NOW
    runner = private_app.test_cli_runner()
    with private_app.app_context():
        from market.clock import run_all

        # The same runner `market tick` uses, at the suite's NOW: the ended lot is sold to its one bidder.
        results = run_all(db.session, NOW)
        assert set(results) == {"auctions", "loans", "needs"}
        assert results["auctions"]["closed"] == 1
        lot = db.session.get(Listing, listing_id)
        assert lot.status is ListingStatus.SOLD and lot.winner_id == bidder_id
        rows = {r.name: r for r in db.session.scalars(select(ClockRun))}
        assert set(rows) == {"auctions", "loans", "needs"} and rows["auctions"].last_run_at == NOW
        assert rows["auctions"].last_result == {"opened": 0, "closed": 1, "unpaid": 0}
        sold = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(listing_id),
                                                           AuditEntry.action == "listing.sold")).all()
        assert len(sold) == 1 and sold[0].actor_id is None  # the system, not a person
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert "Auctions: 0 opened, 0 closed" in result.output and "Loans: overdue: 0" in result.output
    assert "Escalated 0 need(s)" in result.output
    for old in (["auctions", "tick"], ["needs", "tick"], ["tick", "--only", "loans"]):
        result = runner.invoke(args=old)
        assert result.exit_code == 0, (old, result.output)
    result = runner.invoke(args=["tick", "--only", "weather"])
    assert result.exit_code != 0 and "No clock named 'weather'" in result.output
    with private_app.app_context():
        assert db.session.get(ClockRun, "auctions").runs == 3  # run_all, `tick`, `auctions tick`


class _Probe:
    """A clock whose run takes a while and records how many runs overlap."""

    def __init__(self):
        self.inside = 0
        self.most = 0
        self.runs = 0
        self.guard = threading.Lock()

    def run(self, session, now):
        with self.guard:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.6)
        with self.guard:
            self.inside -= 1
            self.runs += 1
        return {"ran": 1}


def _at_once(app, clock: Clock, n: int, *, force: bool) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def work(i: int) -> None:
        with app.app_context():
            barrier.wait(10)
            results[i] = run_clock(db.session, clock, NOW, force=force)
            db.session.remove()

    in_threads(work, [(i,) for i in range(n)], timeout=60)
    return results


def test_the_lock_keeps_two_runs_of_a_clock_apart(private_app):
    probe = _Probe()
    clock = Clock("probe", every=60, run=probe.run)
    # Two schedulers at the same moment: one runs the clock, the other skips it (its lock is held, or, on SQLite,
    # it queued for the lock and found the clock had just run).
    results = _at_once(private_app, clock, 2, force=False)
    assert sorted(results, key=str) == [None, {"ran": 1}] and probe.most == 1 and probe.runs == 1
    # Within `every` of the last run, a scheduled run does nothing.
    assert _at_once(private_app, clock, 1, force=False) == [None]
    # `market tick` (force) waits for the lock instead: both run, one after the other, never together.
    results = _at_once(private_app, clock, 2, force=True)
    assert results == [{"ran": 1}, {"ran": 1}] and probe.most == 1 and probe.runs == 3
    with private_app.app_context():
        row = db.session.get(ClockRun, "probe")
        assert row.runs == 3 and row.last_run_at == NOW and row.holder


def test_a_failing_clock_is_recorded_and_rolled_back(private_app):
    listing_id, _ = _lot_ending(private_app, -60)

    def broken(session, now):
        clock.tick(session, now)  # closes the lot ... then fails: nothing of it may stay
        raise RuntimeError("disk on fire")

    with private_app.app_context():
        with pytest.raises(RuntimeError):
            run_clock(db.session, Clock("broken", every=1, run=broken), NOW, force=True)
        assert db.session.get(Listing, listing_id).status is ListingStatus.BIDDING
        row = db.session.get(ClockRun, "broken")
        assert row.last_error == "RuntimeError: disk on fire" and row.last_error_at == NOW and row.runs == 0


def test_the_server_closes_an_ended_auction_by_itself(private_app, tmp_path):
    """`market serve` with nobody running a command: a lot ending 3 s from now shows its result within seconds."""
    url = private_app.config["SQLALCHEMY_DATABASE_URI"]
    server = Server(url, tmp_path=tmp_path)
    try:
        server.wait_up()
        listing_id, bidder_id = _lot_ending(private_app, 3, now=wall_now())  # written while the server runs
        with private_app.app_context():
            ends_at = db.session.get(Listing, listing_id).ends_at
        status, body = server.json("GET", f"/api/v1/auctions/{listing_id}")
        assert status == 200 and body["status"] == "bidding", body  # not yet: it ends in 3 s
        while True:
            status, body = server.json("GET", f"/api/v1/auctions/{listing_id}")
            if body.get("status") != "bidding" or wall_now() > ends_at + timedelta(seconds=15):
                break
            time.sleep(0.25)
        seen_after = (wall_now() - ends_at).total_seconds()
        assert body["status"] == "sold", body
        assert seen_after < 5, seen_after  # the auctions clock runs every 2 s (a pass every 0.5 s here)
        status, page = server.get(f"/exchange/{listing_id}")
        assert status == 200 and 'data-field="status" data-status="sold"' in page, page[:3000]
        assert '<p data-field="outcome" data-test="outcome">' in page  # the winner's code and price, not hidden
        status, ready = server.json("GET", "/readyz")
        assert status == 200, (ready, server.tail())
        assert ready["scheduler"]["running"] and ready["scheduler"]["clocks"]["auctions"]["by"]
        assert ready["database"]["ok"] and ready["search"]["ok"]
    finally:
        server.stop()
    with private_app.app_context():
        lot = db.session.get(Listing, listing_id)
        assert lot.status is ListingStatus.SOLD and lot.winner_id == bidder_id and lot.closed_at >= ends_at
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_id == str(listing_id), AuditEntry.action == "listing.sold",
            AuditEntry.actor_id.is_(None))) == 1
        assert db.session.get(ClockRun, "auctions").holder.endswith(f":{server.proc.pid}")
