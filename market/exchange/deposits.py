"""Bidders' deposits and the lot's ledger: paid (with the lot's terms accepted and a bidder code given), refunded at
the close or a cancellation, forfeited by a winner who did not pay, applied to the winner's price."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.accounts.models import Role, User
from market.audit.service import record
from market.db import lock_row
from market.errors import Conflict, Forbidden, NotFound
from market.exchange import rules
from market.exchange.models import Deposit, DepositStatus, LedgerEntry, Listing, ListingStatus
from market.exchange.parties import barred_user_ids, check_not_conflicted
from market.exchange.terms import terms_version as current_terms_version
from market.security import require


def pay_deposit(session: Session, actor: User, listing: Listing | int, now: datetime,
                terms_version: str | None = None) -> Deposit:
    """Record a (simulated) deposit payment in the lot's ledger and give the bidder a code for this lot.

    Paying the deposit accepts the lot's announcement and bidder terms: the deposit keeps which version and when.
    `terms_version` is the version the bidder read (the page and the API send it); a different one is refused, so
    nobody accepts terms they were not shown. None means the current version (callers that show them in-process).

    Serialised per lot like bids: the lot's lock is the first statement (callers start the transaction clean), so
    two payments by one user at once give one deposit and a 409, and two bidders never take the same code. Belt and
    braces: a unique-constraint clash (same bidder → 409; same code → next code) is caught in a savepoint."""
    listing_id = listing if isinstance(listing, int) else sa_inspect(listing).identity[0]
    listing = lock_row(session, Listing, listing_id)
    if listing is None:
        raise NotFound("This listing does not exist.")
    require(actor, *Role)
    if listing.status not in (ListingStatus.ANNOUNCED, ListingStatus.BIDDING) or now >= listing.ends_at:
        raise Conflict("Deposits are taken only while the lot is announced or in bidding.")
    check_not_conflicted(session, actor, listing)
    if actor.id in barred_user_ids(listing):
        raise Forbidden("A winner who did not pay may not bid in the re-auction.")

    def already_paid():
        return session.scalar(select(Deposit.id).where(Deposit.listing_id == listing.id,
                                                       Deposit.bidder_id == actor.id)) is not None

    if already_paid():
        raise Conflict("You have already paid the deposit for this lot.")
    current_terms = current_terms_version(listing)
    if terms_version is not None and terms_version != current_terms:
        raise Conflict("The terms of this lot have changed since you read them; read them again before paying.")
    taken = set(session.scalars(select(Deposit.code).where(Deposit.listing_id == listing.id)))
    secret = current_app.config["SECRET_KEY"] if current_app else ""
    deposit = None
    for attempt in range(64):
        code = rules.bidder_code(secret, listing.id, actor.id, attempt)
        if code in taken:
            continue
        candidate = Deposit(listing_id=listing.id, bidder_id=actor.id, code=code, amount=listing.deposit_amount,
                            status=DepositStatus.HELD, paid_at=now, terms_version=current_terms,
                            terms_accepted_at=now)
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
        except IntegrityError:
            if already_paid():
                raise Conflict("You have already paid the deposit for this lot.") from None
            taken.add(code)
            continue
        deposit = candidate
        break
    if deposit is None:
        raise Conflict("No bidder code could be assigned; please try again.")
    session.add(LedgerEntry(listing_id=listing.id, user_id=actor.id, entry="deposit_paid",
                            amount=listing.deposit_amount, at=now, reference=f"sim-{deposit.code}"))
    session.flush()
    record(session, actor=actor, action="listing.deposit_paid", entity_type="listing", entity_id=listing.id, now=now,
           after={"code": deposit.code, "amount": listing.deposit_amount, "terms_version": current_terms,
                  "terms_accepted_at": now})
    return deposit


def refund_deposits(session: Session, listing: Listing, now: datetime, keep: int | None = None) -> int:
    """Refund every held deposit of the lot except the one of user `keep` (the winner); returns how many."""
    n = 0
    for deposit in session.scalars(select(Deposit).where(Deposit.listing_id == listing.id,
                                                         Deposit.status == DepositStatus.HELD)):
        if deposit.bidder_id == keep:
            continue
        deposit.status, deposit.settled_at = DepositStatus.REFUNDED, now
        session.add(LedgerEntry(listing_id=listing.id, user_id=deposit.bidder_id, entry="deposit_refunded",
                                amount=-deposit.amount, at=now))
        n += 1
    session.flush()
    return n


def _winners_deposit(session: Session, listing: Listing) -> Deposit | None:
    return session.scalar(select(Deposit).where(Deposit.listing_id == listing.id,
                                                Deposit.bidder_id == listing.winner_id))


def forfeit_deposit(session: Session, listing: Listing, now: datetime) -> None:
    """The winner did not pay by the deadline: their deposit is forfeited."""
    deposit = _winners_deposit(session, listing)
    if deposit is not None:
        deposit.status, deposit.settled_at = DepositStatus.FORFEITED, now
        session.add(LedgerEntry(listing_id=listing.id, user_id=deposit.bidder_id, entry="deposit_forfeited",
                                amount=Decimal("0"), at=now, reference=str(deposit.amount)))


def apply_deposit(session: Session, listing: Listing, now: datetime) -> Decimal:
    """The winner pays: a held deposit counts towards the price. Returns the amount it covers."""
    deposit = _winners_deposit(session, listing)
    if deposit is None or deposit.status is not DepositStatus.HELD:
        return Decimal("0")
    deposit.status, deposit.settled_at = DepositStatus.APPLIED, now
    session.add(LedgerEntry(listing_id=listing.id, user_id=listing.winner_id, entry="deposit_applied",
                            amount=Decimal("0"), at=now, reference=str(deposit.amount)))
    return deposit.amount


def ledger_of(session: Session, user: User, listing_id: int | None = None) -> list[LedgerEntry]:
    """A bidder's own movements: deposits paid, refunded (at the close), forfeited or applied, the balance paid."""
    query = select(LedgerEntry).where(LedgerEntry.user_id == user.id)
    if listing_id is not None:
        query = query.where(LedgerEntry.listing_id == listing_id)
    return list(session.scalars(query.order_by(LedgerEntry.id)))


def deposits_of(session: Session, listing_id: int) -> list[Deposit]:
    return list(session.scalars(select(Deposit).where(Deposit.listing_id == listing_id).order_by(Deposit.id)))


def deposits_by(session: Session, user: User) -> list[Deposit]:
    """A bidder's own deposits over all lots, newest first."""
    return list(session.scalars(select(Deposit).where(Deposit.bidder_id == user.id).order_by(Deposit.id.desc())))
