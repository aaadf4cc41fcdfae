"""The live auction state as plain data, shared by the JSON API and the auction page's poller; the public list's
phases and filters; licence terms as data.

The state stays cheap while bidding goes on: it carries the latest `LATEST_BIDS` accepted bids (an index on
(listing_id, accepted, id) serves them) with the lot's `bid_count`, older bids page through `bid_page`, and
`state_etag` names the state from the lot's row alone so a poller's unchanged read is a 304 without the bids.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import url_for
from sqlalchemy import Text, func, or_, select
from sqlalchemy.orm import Session

from market.exchange import rules
from market.exchange.models import Bid, Deposit, Listing, ListingKind, ListingStatus
from market.ip.models import IpAsset

CLOSED = (ListingStatus.SOLD, ListingStatus.SETTLED, ListingStatus.UNPAID)
FINISHED = (ListingStatus.SOLD, ListingStatus.SETTLED, ListingStatus.UNPAID, ListingStatus.FAILED,
            ListingStatus.CANCELLED)
PUBLIC = [s for s in ListingStatus if s not in (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW)]
PHASES = {"upcoming": (ListingStatus.ANNOUNCED,), "live": (ListingStatus.BIDDING,), "finished": FINISHED}
LATEST_BIDS = 20


def phase_of(listing: Listing, now: datetime) -> str:
    """upcoming, live or finished — a lot whose end has passed is finished even before the clock closes it."""
    if listing.status is ListingStatus.ANNOUNCED:
        return "upcoming"
    if listing.status is ListingStatus.BIDDING and now < listing.ends_at:
        return "live"
    return "finished"


def public_listings(phase: str | None = None, kind: str | None = None, ipc: str | None = None):
    """The public lots, newest first, filtered by phase, kind and an IPC code prefix (e.g. "H01M")."""
    query = select(Listing).where(Listing.status.in_([s for v in PHASES.values() for s in v]))
    if phase:
        query = query.where(Listing.status.in_(PHASES[phase]))
    if kind:
        query = query.where(Listing.kind == ListingKind(kind))
    if ipc:
        prefix = ipc.strip().upper().replace(" ", "")
        # ipc_codes is a JSON list: match the prefix at the start of any element of its text form
        text = func.upper(func.cast(IpAsset.ipc_codes, Text()))
        query = query.join(IpAsset, IpAsset.id == Listing.asset_id).where(
            or_(text.like(f'["{prefix}%'), text.like(f'%, "{prefix}%'), text.like(f'%,"{prefix}%')))
    return query.order_by(Listing.id.desc())


def licence_terms(listing: Listing) -> dict | None:
    if listing.kind is not ListingKind.LICENCE or listing.licence_exclusive is None:
        return None
    return {"exclusive": listing.licence_exclusive, "territory": listing.licence_territory,
            "term_months": listing.licence_term_months, "royalty": listing.licence_royalty}


def state_etag(session: Session, listing: Listing, now: datetime) -> str:
    """A tag that changes with every accepted bid, deposit, extension and change of status — and when the end
    passes (the state then shows the result even before the clock closes the lot)."""
    deposits = session.scalar(select(func.count()).select_from(Deposit).where(Deposit.listing_id == listing.id))
    parts = (listing.id, listing.status.value, listing.bid_count, listing.current_price, listing.ends_at,
             listing.updated_at, deposits, now >= listing.ends_at)
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:20]


def bid_page(session: Session, listing: Listing, before: int | None, limit: int) -> tuple[list[Bid], int | None]:
    """Accepted bids newest first (older than bid `before` when given) and the id to pass for the next page."""
    query = select(Bid).where(Bid.listing_id == listing.id, Bid.accepted.is_(True))
    if before is not None:
        query = query.where(Bid.id < before)
    rows = session.scalars(query.order_by(Bid.id.desc()).limit(limit + 1)).all()
    older = rows[limit - 1].id if len(rows) > limit else None
    return list(rows[:limit]), older


def auction_state(session: Session, listing: Listing, now: datetime) -> dict:
    bids, older = bid_page(session, listing, None, LATEST_BIDS)
    codes = dict(session.execute(select(Deposit.bidder_id, Deposit.code).where(Deposit.listing_id == listing.id)).all())
    open_ = listing.status is ListingStatus.BIDDING and now < listing.ends_at
    if listing.kind is ListingKind.FIXED_PRICE:
        minimum = listing.starting_price
    else:
        minimum = rules.next_min_bid(listing.starting_price, listing.increment, listing.current_price)
    # Past the end the result is known even before the clock records it: the leader wins, or nobody bid.
    ended = listing.status in CLOSED or (listing.status is ListingStatus.BIDDING and now >= listing.ends_at)
    winner = listing.winner_id if listing.status in CLOSED else (listing.leader_id if ended else None)
    return {
        "id": listing.id, "title": listing.title, "status": listing.status.value, "kind": listing.kind.value,
        "phase": phase_of(listing, now),
        "round": listing.round, "starting_price": listing.starting_price, "increment": listing.increment,
        "deposit_amount": listing.deposit_amount, "valuation": listing.valuation,
        "current_price": listing.current_price, "next_min_bid": minimum if open_ or
        listing.status is ListingStatus.ANNOUNCED else None,
        "bidding_starts_at": listing.bidding_starts_at, "ends_at": listing.ends_at, "server_time": now,
        "bid_count": listing.bid_count, "extension_count": listing.extension_count,
        "registered_bidders": len(codes), "leader_code": codes.get(listing.leader_id),
        "leader_preemption": listing.leader_preemption,
        "winner_code": codes.get(winner) if winner else None,
        "sale_price": (listing.sale_price if listing.status in CLOSED else listing.current_price) if winner else None,
        "unsold": ended and winner is None or listing.status is ListingStatus.FAILED,
        "bids": bids,
        "older_bids": url_for("exchange_api.AuctionBids", listing_id=listing.id, before=older) if older else None,
    }
