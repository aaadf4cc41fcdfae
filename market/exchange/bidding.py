"""Bids: judged by `rules` at the server's time and recorded, accepted or not (every bid is kept).

Concurrency (one design for SQLite and PostgreSQL): a bid first takes the lot's row lock (`market.db.lock_row`) as
the first statement of its transaction, so bids on one lot queue and each is judged against the price the one
before it committed; other lots stay free (on SQLite the transaction already holds the database write lock). The
accepted bid is written with a conditional `UPDATE ... WHERE id=:id AND bid_count=:seen AND status='bidding' AND
ends_at > :now` whose rowcount must be 1 (belt and braces: it also refuses any bid after the close, whatever the
lock). Views start the bid transaction clean (they commit the token lookup first)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from market.accounts.models import Role, User
from market.bounded import bid_ceiling, bid_multiple
from market.db import lock_row
from market.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from market.exchange import rules
from market.exchange.clock import close_lot
from market.exchange.models import Bid, Deposit, DepositStatus, Listing, ListingKind, ListingStatus, PreemptionRight
from market.exchange.parties import check_not_conflicted
from market.i18n import when
from market.notices.service import notify
from market.security import N_, require

NOT_OPEN = (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW, ListingStatus.ANNOUNCED)


def _verdict(listing: Listing, amount: Decimal, now: datetime, preemption: bool) -> str:
    if listing.status in NOT_OPEN:
        return rules.BidVerdict.NOT_OPEN
    if listing.status is not ListingStatus.BIDDING:
        return rules.BidVerdict.CLOSED
    if listing.kind is ListingKind.FIXED_PRICE:
        if now >= listing.ends_at:
            return rules.BidVerdict.CLOSED
        return rules.BidVerdict.ACCEPTED if amount >= listing.starting_price else rules.BidVerdict.TOO_LOW
    return rules.judge_bid(amount, starting_price=listing.starting_price, increment=listing.increment,
                           current_price=listing.current_price, ends_at=listing.ends_at, now=now,
                           preemption=preemption, leader_has_preemption=listing.leader_preemption)


def place_bid(session: Session, actor: User, listing_id: int, amount: Decimal, now: datetime) -> Bid:
    """Judge and record one bid at server time `now`. Returns the Bid (also when refused: every bid is kept);
    raises Forbidden without a held deposit and NotFound for an unknown lot. See `bid_error` for refusals."""
    listing = lock_row(session, Listing, listing_id)
    if listing is None:
        raise NotFound("This listing does not exist.")
    require(actor, *Role)
    deposit = session.scalar(select(Deposit).where(Deposit.listing_id == listing_id, Deposit.bidder_id == actor.id))
    if deposit is None or deposit.status is not DepositStatus.HELD:
        raise Forbidden("Pay the deposit before bidding.")
    check_not_conflicted(session, actor, listing)
    amount = Decimal(amount)
    ceiling = bid_ceiling(listing.valuation)
    if amount > ceiling:  # nothing is recorded: such a bid would freeze the lot at a price no one can beat
        raise InvalidInput("A bid on this lot may be at most %(ceiling)s (%(multiple)s times its valuation).",
                           ceiling=format(ceiling, ",.2f"), multiple=bid_multiple())
    if amount != amount.quantize(rules.CENT) or amount <= 0:
        raise InvalidInput("The amount must be positive with at most two decimals.")
    preemption = session.scalar(select(PreemptionRight.id).where(
        PreemptionRight.listing_id == listing_id, PreemptionRight.user_id == actor.id)) is not None
    verdict = _verdict(listing, amount, now, preemption)
    bid = Bid(listing_id=listing_id, bidder_id=actor.id, code=deposit.code, amount=amount, placed_at=now,
              accepted=False, preemption=preemption, outcome=verdict)
    if verdict == rules.BidVerdict.ACCEPTED:
        fixed = listing.kind is ListingKind.FIXED_PRICE
        new_end = listing.ends_at if fixed else rules.extended_end(listing.ends_at, now)
        values = dict(current_price=amount, bid_count=Listing.bid_count + 1, ends_at=new_end, leader_id=actor.id,
                      leader_preemption=preemption, updated_at=now,
                      extension_count=Listing.extension_count + (1 if new_end != listing.ends_at else 0))
        result = session.execute(
            update(Listing).where(Listing.id == listing_id, Listing.bid_count == listing.bid_count,
                                  Listing.status == ListingStatus.BIDDING, Listing.ends_at > now)
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            bid.accepted, bid.ends_at_after = True, new_end
            if listing.leader_id not in (None, actor.id):
                notify(session, msgid=N_("You were outbid on lot %(lot)s “%(title)s”: the price is now %(amount)s."),
                       now=now, user_id=listing.leader_id, link=f"/exchange/{listing_id}", lot=listing_id,
                       title=listing.title, amount=amount)
        else:  # only reachable if the lock was bypassed; the conditional UPDATE still refuses the bid
            bid.outcome = rules.BidVerdict.OUTBID
    session.add(bid)
    session.flush()
    if bid.accepted and listing.kind is ListingKind.FIXED_PRICE:
        session.refresh(listing)
        close_lot(session, listing, now, force=True)
    return bid


def bid_error(bid: Bid) -> DomainError:
    """The domain error for a refused bid (the view commits the record first, then raises this)."""
    if bid.outcome == rules.BidVerdict.NOT_OPEN:
        listing = object_session(bid).get(Listing, bid.listing_id)
        return Conflict("Bidding on this lot has not opened yet: it opens at %(when)s (Beijing time).",
                        when=when(listing.bidding_starts_at))
    if bid.outcome == rules.BidVerdict.CLOSED:
        return Conflict("Bidding on this lot is closed; the bid was not accepted.")
    if bid.outcome == rules.BidVerdict.TOO_LOW:
        return InvalidInput("The bid is below the minimum bid.")
    if bid.outcome == rules.BidVerdict.OFF_GRID:
        listing = object_session(bid).get(Listing, bid.listing_id)
        lower, higher = rules.grid_neighbours(bid.amount, listing.starting_price, listing.increment,
                                              listing.current_price)
        return InvalidInput("Bids go up in steps of the increment (%(increment)s): bid %(lower)s or %(higher)s, "
                            "not %(amount)s.", increment=listing.increment, lower=max(lower, listing.starting_price),
                            higher=higher, amount=bid.amount)
    return Conflict("You have been outbid: the current price is already at or above this amount.")
