"""The auction clock run twice at the same time, as two processes (`market auctions tick`) on one SQLite file:
the ended lot closes exactly once, each losing deposit is refunded exactly once, the winner's stays held."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.db import db
from market.exchange import bidding, deposits
from market.exchange.models import Deposit, DepositStatus, LedgerEntry, Listing, ListingStatus
from tests.conftest import Factory
from tests.factories import build_lot
from tests.reliability.helpers import run_market
from tests.service.helpers import wall_now


def ended_lot_with_bids(app, bidders: int = 3) -> int:
    """A lot whose bidding ended an hour ago (by the real clock the `market` processes read) with `bidders`
    deposits and a few bids."""
    with app.app_context():
        s = db.session
        factory = Factory(s)
        start = wall_now().replace(microsecond=0) - timedelta(hours=25)  # the subprocess reads the real clock
        listing, _ = build_lot(s, factory, start=start, hours=24)
        people = [factory.user(Role.BIDDER) for _ in range(bidders)]
        for person in people:
            deposits.pay_deposit(s, person, listing, start + timedelta(minutes=1))
        for i, person in enumerate(people):
            bid = bidding.place_bid(s, person, listing.id, Decimal("700000") + Decimal("10000") * i,
                                    start + timedelta(minutes=2 + i))
            assert bid.accepted, bid.outcome
        s.commit()
        assert listing.status is ListingStatus.BIDDING
        return listing.id


def test_two_tick_processes_at_once_close_the_lot_once(make_app, tmp_path):
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    listing_id = ended_lot_with_bids(app)
    with app.app_context():
        db.engine.dispose()  # no connection of ours holds anything while the two processes run

    procs = [run_market(["auctions", "tick"], url) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    closed = sorted(int(out.split(" opened, ")[1].split(" closed")[0]) for out, _ in outputs)
    assert closed == [0, 1], outputs  # exactly one of the two runs closed it

    with app.app_context():
        s = db.session
        lot = s.get(Listing, listing_id)
        assert lot.status is ListingStatus.SOLD
        assert lot.sale_price == Decimal("720000") and lot.winner_id is not None
        deposits = s.scalars(select(Deposit).where(Deposit.listing_id == listing_id)).all()
        assert {d.bidder_id: d.status for d in deposits} == {
            d.bidder_id: (DepositStatus.HELD if d.bidder_id == lot.winner_id else DepositStatus.REFUNDED)
            for d in deposits}
        refunds = s.execute(select(LedgerEntry.user_id, func.count()).where(
            LedgerEntry.listing_id == listing_id, LedgerEntry.entry == "deposit_refunded")
            .group_by(LedgerEntry.user_id)).all()
        assert sorted(n for _, n in refunds) == [1, 1]  # two losers, one refund each
        assert lot.winner_id not in {uid for uid, _ in refunds}
        closings = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_type == "listing", AuditEntry.entity_id == str(listing_id),
            AuditEntry.action == "listing.sold"))
        assert closings == 1

    # A third run later changes nothing.
    proc = run_market(["auctions", "tick"], url)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "0 closed" in out, (out, err)
