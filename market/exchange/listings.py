"""A listing's life before and around its auction: created (by staff, the lending bank or the owner), submitted,
reviewed against the checklist and announced, cancelled; a failed lot's re-auction and fixed-price sale.

A change of one lot takes the lot's row lock first (`market.db.lock_row`) and judges the row as it is then, so two
decisions at once queue and the second sees the first's outcome. One live listing per asset is also a partial
unique index (`uq_listing_live_asset`), its clash a 409."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Role, User
from market.audit.service import record, snapshot
from market.db import get_or_fail, insert_unique, lock_row
from market.errors import Conflict, Forbidden, InvalidInput, NotFound
from market.exchange import preemption as holders
from market.exchange import rules
from market.exchange.announce import notify_announced
from market.exchange.deposits import refund_deposits
from market.exchange.diligence import due_diligence_pack
from market.exchange.models import (
    LIVE_STATUSES,
    Listing,
    ListingKind,
    ListingSource,
    ListingStatus,
    PreemptionRight,
)
from market.exchange.states import LISTING
from market.ip import register
from market.ip.models import IpAsset, LegalStatus
from market.notices.service import notify
from market.security import N_, require

CHECKLIST = ("terms_within_rules", "asset_right_valid", "parties_notified", "preemption_holders_notified",
             "due_diligence_reviewed", "no_freeze_or_dispute")
LICENCE_FIELDS = ("exclusive", "territory", "term_months", "royalty")


def get_listing(session: Session, listing_id: int) -> Listing:
    listing = get_or_fail(session, Listing, listing_id, "This listing does not exist.")
    return listing


def _locked(session: Session, listing: Listing) -> Listing:
    """The lot under its row lock, read again: a second writer waits here and then sees the first one's outcome."""
    return lock_row(session, Listing, listing.id)


def _check(listing: Listing) -> None:
    if listing.kind is ListingKind.FIXED_PRICE:
        return
    failed_price = listing.previous.starting_price if listing.previous is not None and listing.round == 2 else None
    terms = rules.Terms(valuation=listing.valuation, starting_price=listing.starting_price,
                        increment=listing.increment, deposit=listing.deposit_amount,
                        notice_starts_at=listing.notice_starts_at, bidding_starts_at=listing.bidding_starts_at,
                        ends_at=listing.scheduled_ends_at)
    problems = rules.check_terms(terms, failed_starting_price=failed_price)
    if problems:
        raise InvalidInput(problems[0])


def _insert(session: Session, actor: User, listing: Listing, now: datetime, note: str | None = None) -> Listing:
    """Insert a new listing and audit it; the partial unique index (one live listing per asset) turns a second one
    into a 409."""
    insert_unique(session, listing, Conflict("This asset already has an open listing."))
    record(session, actor=actor, action="listing.created", entity_type="listing", entity_id=listing.id, now=now,
           after=snapshot(listing, LISTING.fields), note=note)
    return listing


def create_listing(session: Session, actor: User, *, asset_id: int, source: ListingSource, valuation: Decimal,
                   starting_price: Decimal, increment: Decimal, deposit_amount: Decimal, notice_starts_at: datetime,
                   bidding_starts_at: datetime, ends_at: datetime, now: datetime,
                   kind: ListingKind = ListingKind.AUCTION, loan_id: int | None = None, bank_org_id: int | None = None,
                   title: str | None = None, description: str | None = None,
                   preemption: list[tuple[int, object]] = (), licence: dict | None = None) -> Listing:
    """A draft listing: by staff, by the lending bank (default) or by the owner (voluntary transfer or licence).

    `licence` (a licence lot): {"exclusive", "territory", "term_months", "royalty"} granted to the winner.
    `preemption`: (user id, kind) of holders known at creation; staff register others (`preemption.py`)."""
    require(actor, Role.STAFF, Role.BANK, Role.ENTERPRISE)
    asset = lock_row(session, IpAsset, asset_id)  # listings of one asset at once queue: the second sees the first
    if asset is None:
        raise NotFound("This IP asset does not exist.")
    if actor.role is Role.BANK:
        if source is not ListingSource.DEFAULT:
            raise Forbidden("A bank can only list defaulted pledges.")
        bank_org_id = actor.organisation_id
    elif actor.role is Role.ENTERPRISE:
        if source is not ListingSource.VOLUNTARY or asset.owner_org_id != actor.organisation_id:
            raise Forbidden("Only the owner can put this asset up for transfer.")
    if session.scalar(select(Listing.id).where(Listing.asset_id == asset_id,
                                               Listing.status.in_([ListingStatus(s) for s in LIVE_STATUSES]))):
        raise Conflict("This asset already has an open listing.")
    listing = Listing(
        asset_id=asset_id, source=source, loan_id=loan_id, kind=kind, title=title or asset.title,
        description=description, seller_org_id=bank_org_id if source is ListingSource.DEFAULT else asset.owner_org_id,
        owner_org_id=asset.owner_org_id, bank_org_id=bank_org_id, valuation=valuation, starting_price=starting_price,
        increment=increment, deposit_amount=deposit_amount, notice_starts_at=notice_starts_at,
        bidding_starts_at=bidding_starts_at, scheduled_ends_at=ends_at, ends_at=ends_at,
        status=ListingStatus.DRAFT, round=1, bid_count=0, leader_preemption=False,
        rules_version=rules.RULES_VERSION, checklist={}, created_by_id=actor.id, created_at=now, updated_at=now,
        due_diligence=due_diligence_pack(session, asset, loan_id, now, valuation),
    )
    set_licence_terms(listing, licence)
    _check(listing)
    _insert(session, actor, listing, now)
    for user_id, right in preemption:
        holder = session.get(User, user_id)
        session.add(PreemptionRight(listing_id=listing.id, user_id=user_id, kind=right, registered_by_id=actor.id,
                                    registered_at=now, name=(holder.name or holder.email) if holder else str(user_id)))
    session.flush()
    return listing


def set_licence_terms(listing: Listing, licence: dict | None) -> None:
    """A licence lot states what the winner gets: exclusive or not, territory, term (months) and royalty (a fraction
    of net sales, 0–1, on top of the price). Other lots carry none."""
    licence = licence or {}
    if listing.kind is not ListingKind.LICENCE:
        if any(licence.get(k) not in (None, "") for k in LICENCE_FIELDS):
            raise InvalidInput("Only a licence lot has licence terms.")
        return
    exclusive, territory = licence.get("exclusive"), (licence.get("territory") or "").strip()
    term, royalty = licence.get("term_months"), licence.get("royalty")
    if exclusive is None or not territory or term is None:
        raise InvalidInput("A licence lot states whether it is exclusive, its territory and its term.")
    if not 1 <= int(term) <= 600:
        raise InvalidInput("The licence term must be between 1 and 600 months.")
    if royalty is not None and not Decimal("0") <= Decimal(royalty) <= Decimal("1"):
        raise InvalidInput("The royalty is a share of net sales between 0% and 100%.")
    listing.licence_exclusive, listing.licence_territory = bool(exclusive), territory[:200]
    listing.licence_term_months = int(term)
    listing.licence_royalty = Decimal(royalty) if royalty is not None else None


def submit_listing(session: Session, actor: User, listing: Listing, now: datetime) -> None:
    require(actor, *Role)
    if actor.role is not Role.STAFF and actor.id != listing.created_by_id:
        raise Forbidden("Only the listing's author can submit it.")
    listing = _locked(session, listing)  # two submissions at once queue: the second sees it under review (409)
    LISTING.move(session, actor, listing, ListingStatus.UNDER_REVIEW, now)
    notify(session, msgid=N_("Lot %(lot)s “%(title)s” awaits review."), now=now, role=Role.STAFF.value,
           link=f"/exchange/{listing.id}", lot=listing.id, title=listing.title)


def review_listing(session: Session, actor: User, listing: Listing, checklist: dict[str, bool], approve: bool,
                   now: datetime, note: str | None = None) -> None:
    """Staff review: approving needs every checklist item ticked and valid terms; the lot is then announced."""
    require(actor, Role.STAFF)
    listing = _locked(session, listing)  # two decisions at once queue; the second sees the first's outcome
    listing.checklist = {item: bool(checklist.get(item)) for item in CHECKLIST}
    listing.review_note = note
    if not approve:
        LISTING.move(session, actor, listing, ListingStatus.DRAFT, now, note=note)
        return
    if not all(listing.checklist.values()):
        raise InvalidInput("Every item of the checklist must be confirmed before approval.")
    _check(listing)
    asset = listing.asset
    if asset.legal_status is not LegalStatus.GRANTED and listing.source is ListingSource.DEFAULT:
        raise InvalidInput("The right is not in force.")
    holders.check_told(session, listing, now)
    listing.due_diligence = due_diligence_pack(session, asset, listing.loan_id, now, listing.valuation)
    register.to_disposal(session, actor, asset, now, note=f"listing {listing.id}")
    _publish_schedule(listing, now, rules.NOTICE_DAYS)
    LISTING.move(session, actor, listing, ListingStatus.ANNOUNCED, now, note=note)
    notify_announced(session, listing, now)


def _publish_schedule(listing: Listing, now: datetime, notice_days: int) -> None:
    """The lot is announced now: its notice counts from now (the server's time), whatever date was typed, and
    bidding opens no earlier than now + `notice_days` (the whole schedule moves later when typed too early)."""
    notice, starts, ends = rules.published_schedule(listing.notice_starts_at, listing.bidding_starts_at,
                                                    listing.scheduled_ends_at, now, notice_days)
    moved = ends - listing.scheduled_ends_at
    listing.notice_starts_at, listing.bidding_starts_at = notice, starts
    listing.scheduled_ends_at, listing.ends_at = ends, listing.ends_at + moved


def cancel_listing(session: Session, actor: User, listing: Listing, now: datetime, note: str | None = None) -> None:
    """Staff cancel a lot that is not closed; held deposits are refunded."""
    require(actor, Role.STAFF)
    listing = _locked(session, listing)
    LISTING.move(session, actor, listing, ListingStatus.CANCELLED, now, note=note)
    refund_deposits(session, listing, now)
    # No other live lot may hold the asset (uq_listing_live_asset): its sale is called off, back to its pledge.
    register.withdraw(session, actor, session.get(IpAsset, listing.asset_id), now, note=f"listing {listing.id}")


# ------------------------------------------------------------------------------------------------ after a failure

def _failed_lot(session: Session, actor: User, failed: Listing, round_: int, refusal: str) -> Listing:
    """The failed (or unpaid) lot of `round_` under its lock, with no follow-up yet: two follow-ups at once queue
    and the second sees the first."""
    require(actor, Role.STAFF)
    failed = _locked(session, failed)
    if failed.status not in (ListingStatus.FAILED, ListingStatus.UNPAID) or failed.round != round_:
        raise Conflict(refusal)
    if session.scalar(select(Listing.id).where(Listing.previous_id == failed.id)):
        raise Conflict("This lot already has a follow-up listing.")
    return failed


def create_reauction(session: Session, actor: User, failed: Listing, *, starting_price: Decimal,
                     deposit_amount: Decimal, increment: Decimal, notice_starts_at: datetime,
                     bidding_starts_at: datetime, ends_at: datetime, now: datetime) -> Listing:
    """Re-run a failed (or unpaid) first auction within 30 days, at most 20 % lower, with a 15-day notice."""
    failed = _failed_lot(session, actor, failed, 1, N_("Only a failed or unpaid first auction can be re-auctioned."))
    if now > rules.reauction_deadline(failed.closed_at):
        raise Conflict("The re-auction must be scheduled within 30 days of the failed auction.")
    listing = _follow_up(failed, round_=2, kind=failed.kind, starting_price=starting_price,
                         deposit_amount=deposit_amount, increment=increment, notice_starts_at=notice_starts_at,
                         bidding_starts_at=bidding_starts_at, ends_at=ends_at, actor=actor, now=now)
    _check(listing)
    _publish_schedule(listing, now, rules.REAUCTION_NOTICE_DAYS)  # a re-auction is announced as it is created
    _insert(session, actor, listing, now, note=f"re-auction of {failed.id}")
    holders.copy_holders(session, failed, listing)
    return listing


def offer_fixed_price(session: Session, actor: User, failed: Listing, now: datetime) -> Listing:
    """After a failed re-auction: a 60-day fixed-price sale (变卖) at the re-auction's starting price, open at once."""
    failed = _failed_lot(session, actor, failed, 2, N_("Only a failed re-auction can be offered at a fixed price."))
    start, end = rules.fixed_price_window(now)
    listing = _follow_up(failed, round_=3, kind=ListingKind.FIXED_PRICE, starting_price=failed.starting_price,
                         deposit_amount=failed.deposit_amount, increment=failed.increment, notice_starts_at=now,
                         bidding_starts_at=start, ends_at=end, actor=actor, now=now)
    listing.status = ListingStatus.BIDDING
    _insert(session, actor, listing, now, note=f"fixed-price sale after {failed.id}")
    holders.copy_holders(session, failed, listing)
    return listing


def _follow_up(failed: Listing, *, round_: int, kind, actor, now, **terms) -> Listing:
    return Listing(asset_id=failed.asset_id, source=failed.source, loan_id=failed.loan_id, kind=kind,
                   title=failed.title, description=failed.description, seller_org_id=failed.seller_org_id,
                   owner_org_id=failed.owner_org_id, bank_org_id=failed.bank_org_id, valuation=failed.valuation,
                   scheduled_ends_at=terms["ends_at"], status=ListingStatus.ANNOUNCED, round=round_,
                   bid_count=0, leader_preemption=False, rules_version=rules.RULES_VERSION,
                   checklist=dict(failed.checklist or {}), due_diligence=dict(failed.due_diligence or {}),
                   licence_exclusive=failed.licence_exclusive, licence_territory=failed.licence_territory,
                   licence_term_months=failed.licence_term_months, licence_royalty=failed.licence_royalty,
                   created_by_id=actor.id, created_at=now, updated_at=now, previous=failed, **terms)
