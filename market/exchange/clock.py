"""The auction clock: open announced lots whose bidding starts, close ended ones (sold to the leader or failed,
losers' deposits refunded), forfeit the deposits of winners who did not pay by the deadline.

Each change takes the lot's row lock and judges the lot as it is then, so running the clock twice, or twice at once,
changes each lot once (the second run finds it already moved). Lots are locked in id order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from market.db import lock_row
from market.exchange import rules
from market.exchange.deposits import forfeit_deposit, refund_deposits
from market.exchange.models import Deposit, Listing, ListingStatus, Objection, ObjectionStatus
from market.exchange.states import LISTING
from market.notices.service import notify
from market.security import N_


def close_lot(session: Session, listing: Listing, now: datetime, force: bool = False) -> bool:
    """Close a lot in bidding (the caller holds its lock) once its end has passed, or at once when `force` (a
    fixed-price sale's first buyer): sold to the leader or failed; losers' deposits refunded. False when the lot is
    not (or no longer) to be closed."""
    if listing.status is not ListingStatus.BIDDING or (not force and listing.ends_at > now):
        return False
    also = {"closed_at": now}
    if listing.bid_count > 0:
        also.update(winner_id=listing.leader_id, sale_price=listing.current_price,
                    payment_due_at=rules.payment_deadline(now))
    LISTING.move(session, None, listing, ListingStatus.SOLD if listing.bid_count > 0 else ListingStatus.FAILED, now,
                 also=also)
    refund_deposits(session, listing, now, keep=listing.winner_id)
    _notify_closed(session, listing, now)
    return True


def _notify_closed(session: Session, listing: Listing, now: datetime) -> None:
    """Tell the winner (pay by the deadline), every other bidder with a deposit (lost, refunded) and the seller."""
    link, sold = f"/exchange/{listing.id}", listing.status is ListingStatus.SOLD
    lot = {"link": link, "lot": listing.id, "title": listing.title}
    if sold:
        notify(session, msgid=N_("You won lot %(lot)s “%(title)s” at %(amount)s: pay by %(due)s."), now=now,
               user_id=listing.winner_id, amount=listing.sale_price, due=listing.payment_due_at, **lot)
    for bidder_id in session.scalars(select(Deposit.bidder_id).where(Deposit.listing_id == listing.id)):
        if bidder_id != listing.winner_id:
            notify(session, msgid=N_("Lot %(lot)s “%(title)s” went to another bidder; your deposit was refunded."),
                   now=now, user_id=bidder_id, **lot)
    msgid = N_("Lot %(lot)s “%(title)s” was sold at %(amount)s.") if sold else N_("Lot %(lot)s “%(title)s” had no bid.")
    if listing.seller_org_id is not None:
        notify(session, msgid=msgid, now=now, org_id=listing.seller_org_id, amount=listing.sale_price or 0, **lot)


def _open_objection():
    return exists().where(Objection.listing_id == Listing.id, Objection.status == ObjectionStatus.OPEN)


def _due(session: Session, *where) -> list[Listing]:
    """The lots matching `where`, each under its row lock (in id order) and matching still once locked."""
    found = []
    for listing_id in session.scalars(select(Listing.id).where(*where).order_by(Listing.id)).all():
        listing = lock_row(session, Listing, listing_id)
        if session.scalar(select(Listing.id).where(Listing.id == listing_id, *where)) is not None:
            found.append(listing)
    return found


def tick(session: Session, now: datetime) -> dict[str, int]:
    """Open announced lots, close ended ones, forfeit unpaid winners; returns how many of each."""
    counts = {"opened": 0, "closed": 0, "unpaid": 0}
    if session.get_bind().dialect.name == "sqlite":  # take the database write lock first, as every writer does
        session.execute(update(Listing).where(Listing.id == -1).values(bid_count=Listing.bid_count))
    for listing in _due(session, Listing.status == ListingStatus.ANNOUNCED, Listing.bidding_starts_at <= now,
                        ~_open_objection()):
        LISTING.move(session, None, listing, ListingStatus.BIDDING, now)
        counts["opened"] += 1
    for listing in _due(session, Listing.status == ListingStatus.BIDDING, Listing.ends_at <= now):
        counts["closed"] += close_lot(session, listing, now)
    for listing in _due(session, Listing.status == ListingStatus.SOLD, Listing.payment_due_at <= now):
        LISTING.move(session, None, listing, ListingStatus.UNPAID, now)
        forfeit_deposit(session, listing, now)
        counts["unpaid"] += 1
    session.flush()
    return counts
