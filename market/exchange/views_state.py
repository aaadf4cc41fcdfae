"""The live auction state as plain data, shared by the JSON API and the auction page's poller."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.exchange import rules
from market.exchange.models import Bid, Deposit, Listing, ListingKind, ListingStatus

CLOSED = (ListingStatus.SOLD, ListingStatus.SETTLED, ListingStatus.UNPAID)


def auction_state(session: Session, listing: Listing, now: datetime) -> dict:
    bids = session.scalars(select(Bid).where(Bid.listing_id == listing.id, Bid.accepted.is_(True))
                           .order_by(Bid.id.desc())).all()
    codes = dict(session.execute(select(Deposit.bidder_id, Deposit.code).where(Deposit.listing_id == listing.id)).all())
    open_ = listing.status is ListingStatus.BIDDING and now < listing.ends_at
    if listing.kind is ListingKind.FIXED_PRICE:
        minimum = listing.starting_price
    else:
        minimum = rules.next_min_bid(listing.starting_price, listing.increment, listing.current_price)
    return {
        "id": listing.id, "title": listing.title, "status": listing.status.value, "kind": listing.kind.value,
        "round": listing.round, "starting_price": listing.starting_price, "increment": listing.increment,
        "deposit_amount": listing.deposit_amount, "valuation": listing.valuation,
        "current_price": listing.current_price, "next_min_bid": minimum if open_ or
        listing.status is ListingStatus.ANNOUNCED else None,
        "bidding_starts_at": listing.bidding_starts_at, "ends_at": listing.ends_at, "server_time": now,
        "bid_count": listing.bid_count, "leader_code": codes.get(listing.leader_id),
        "winner_code": codes.get(listing.winner_id) if listing.status in CLOSED else None,
        "sale_price": listing.sale_price if listing.status in CLOSED else None,
        "bids": [{"code": b.code, "amount": b.amount, "placed_at": b.placed_at, "preemption": b.preemption}
                 for b in bids],
    }
