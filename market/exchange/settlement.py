"""After the hammer: the winner's payment (deposit applied, balance in, proceeds to the seller), the right passing
to the buyer, and a defaulted loan's recovery handed to the loans area's compensation claim once none of its lots
is open any more."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.accounts.models import Role, User
from market.audit.service import record
from market.db import lock_row
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.exchange.deposits import apply_deposit
from market.exchange.models import LedgerEntry, Listing, ListingKind, ListingSource, ListingStatus, Transfer
from market.exchange.states import LISTING
from market.ip import register
from market.loans.claims import assemble_claim
from market.loans.models import Loan, Pledge
from market.loans.schedule import outstanding_principal as loan_outstanding
from market.needs.service import release_transferred_asset
from market.notices.service import notify
from market.security import N_, require

OPEN_FOR_CLAIM = (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW, ListingStatus.ANNOUNCED, ListingStatus.BIDDING,
                  ListingStatus.SOLD)


def record_payment(session: Session, actor: User, listing: Listing, now: datetime) -> Transfer:
    """The winner's (simulated) payment: deposit applied, balance in, proceeds to the seller, transfer recorded,
    and the loss handed to the loans area's claim flow. Serialised per lot: the lot's lock comes first and the lot
    is read again under it, so two confirmations at once settle it once (the second sees it settled: 409)."""
    require(actor, *Role)
    listing = lock_row(session, Listing, listing.id)
    if actor.role is not Role.STAFF and actor.id != listing.winner_id:
        raise Forbidden("Only the winner or exchange staff can record the payment.")
    if listing.status is not ListingStatus.SOLD:
        raise Conflict("Only a sold lot awaiting payment can be settled.")
    if listing.payment_due_at is not None and now > listing.payment_due_at:
        raise Conflict("The payment deadline has passed.")
    paid_by_deposit = apply_deposit(session, listing, now)
    session.add(LedgerEntry(listing_id=listing.id, user_id=listing.winner_id, entry="balance_paid",
                            amount=listing.sale_price - paid_by_deposit, at=now))
    session.add(LedgerEntry(listing_id=listing.id, org_id=listing.seller_org_id, entry="proceeds_to_seller",
                            amount=-listing.sale_price, at=now))
    transfer = Transfer(listing_id=listing.id, asset_id=listing.asset_id, buyer_id=listing.winner_id,
                        price=listing.sale_price, at=now)
    session.add(transfer)
    _pass_the_right(session, actor, listing, now)
    LISTING.move(session, actor, listing, ListingStatus.SETTLED, now, also={"paid_at": now})
    transfer.claim_hook = hand_loss_to_claims(session, actor, listing, now)
    told = N_("Lot %(lot)s “%(title)s” was paid and settled; the right is transferred.")
    lot = {"link": f"/exchange/{listing.id}", "lot": listing.id, "title": listing.title}
    if listing.seller_org_id is not None:
        notify(session, msgid=told, now=now, org_id=listing.seller_org_id, **lot)
    notify(session, msgid=told, now=now, user_id=listing.winner_id, **lot)
    session.flush()
    return transfer


def _pass_the_right(session: Session, actor: User, listing: Listing, now: datetime) -> None:
    """After payment the pledge on the asset ends (the pledgee bank was paid from the sale) and, for a sale of the
    right itself, the asset belongs to the buyer's organisation (a person buyer: no owner organisation on record).
    A licence leaves ownership where it was."""
    asset = listing.asset
    for pledge in session.scalars(select(Pledge).where(Pledge.asset_id == asset.id, Pledge.active.is_(True))):
        pledge.active, pledge.released_at = False, now
        record(session, actor=actor, action="pledge.released_by_disposal", entity_type="pledge",
               entity_id=pledge.id, now=now, after={"listing_id": listing.id})
    transfer = listing.kind is not ListingKind.LICENCE
    buyer = session.get(User, listing.winner_id) if transfer else None
    register.dispose(session, actor, asset, now, owner_org_id=buyer.organisation_id if buyer is not None else None,
                     transfer=transfer, note=f"listing {listing.id}")
    if listing.kind is not ListingKind.LICENCE:
        release_transferred_asset(session, actor, asset.id, now)  # the sold asset leaves the old owner's needs


def outstanding_principal(session: Session, listing: Listing) -> Decimal | None:
    """The defaulted loan's outstanding principal (for the results page), None for a voluntary listing."""
    loan = session.get(Loan, listing.loan_id) if listing.loan_id is not None else None
    return loan_outstanding(loan) if loan is not None else None


def loan_recovery(session: Session, loan_id: int, final: bool = False) -> tuple[Decimal, int]:
    """Sum of the sale prices of the loan's settled lots, and how many of its lots are still open: in progress, or
    failed/unpaid auctions without a follow-up yet (a re-auction or fixed-price sale may come) unless `final`."""
    recovered = session.scalar(select(func.coalesce(func.sum(Listing.sale_price), 0)).where(
        Listing.loan_id == loan_id, Listing.status == ListingStatus.SETTLED))
    still_open = session.scalar(select(func.count()).select_from(Listing).where(
        Listing.loan_id == loan_id, Listing.status.in_(OPEN_FOR_CLAIM)))
    if not final:
        follow_up = select(Listing.previous_id).where(Listing.previous_id.is_not(None))
        still_open += session.scalar(select(func.count()).select_from(Listing).where(
            Listing.loan_id == loan_id, Listing.status.in_([ListingStatus.FAILED, ListingStatus.UNPAID]),
            Listing.round < 3, Listing.id.not_in(follow_up)))
    return Decimal(recovered), still_open


def hand_loss_to_claims(session: Session, actor: User, listing: Listing, now: datetime, final: bool = False) -> str:
    """Hand a defaulted loan's recovery to the loans area's `assemble_claim` (loss = outstanding principal −
    recovery) once none of the loan's lots is open any more: the recovery is the sum of the loan's settled sale
    prices. A refusal there (e.g. a claim already made) does not undo the settlement and is recorded instead.
    Returns what happened, in words kept with the transfer and the audit entry."""
    if listing.loan_id is None or listing.source is not ListingSource.DEFAULT:
        return "not a defaulted loan"
    recovery, still_open = loan_recovery(session, listing.loan_id, final)
    if still_open:
        return f"pending: {still_open} other lot(s) of loan {listing.loan_id} still open"
    try:
        with session.begin_nested():
            claim = assemble_claim(session, session.get(Loan, listing.loan_id), recovery, now, actor=actor)
    except DomainError as exc:
        return f"not handed: {exc.message}"[:200]
    return f"claim {claim.id} assembled by market.loans.claims.assemble_claim (recovery {recovery})"


def end_loan_disposal(session: Session, actor: User, loan_id: int, now: datetime) -> str:
    """Staff end the disposal of a loan whose remaining lots failed (no re-auction or fixed-price sale wanted): the
    claim is assembled with what the settled lots recovered (possibly nothing)."""
    require(actor, Role.STAFF)
    listing = session.scalar(select(Listing).where(Listing.loan_id == loan_id, Listing.source == ListingSource.DEFAULT)
                             .order_by(Listing.id.desc()))
    if listing is None:
        raise NotFound("This loan has no listing.")
    if loan_recovery(session, loan_id, final=True)[1]:
        raise Conflict("A lot of this loan is still open.")
    outcome = hand_loss_to_claims(session, actor, listing, now, final=True)
    record(session, actor=actor, action="listing.disposal_ended", entity_type="listing", entity_id=listing.id,
           now=now, note=outcome)
    if outcome.startswith("not handed"):
        raise Conflict("The claim could not be assembled: %(reason)s", reason=outcome)
    return outcome
