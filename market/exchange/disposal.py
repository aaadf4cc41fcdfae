"""Disposal of defaulted pledges: listing a defaulted loan's pledges (the staff's to-do list, default terms at the
rules' bounds), an owner's assets to offer, and objections during the announcement."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Role, User
from market.audit.service import record
from market.db import get_or_fail, lock_row
from market.errors import Conflict, Forbidden, InvalidInput
from market.exchange import rules
from market.exchange.listings import cancel_listing, create_listing, get_listing, submit_listing
from market.exchange.models import Listing, ListingKind, ListingSource, ListingStatus, Objection, ObjectionStatus
from market.ip.models import IpAsset
from market.loans.access import get_loan
from market.loans.default import start_disposal
from market.loans.models import Loan, LoanStatus
from market.notices.service import notify
from market.security import require
from market.valuations.service import latest_valuation

OPEN = (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW, ListingStatus.ANNOUNCED, ListingStatus.BIDDING)


def default_terms(valuation: Decimal, now: datetime) -> dict:
    """Terms at the rules' bounds: start at 70 % of the valuation, deposit 10 %, increment 1 % (at least ¥100),
    a 30-day notice from now, 24 h of bidding (whole hours, UTC)."""
    start = (valuation * rules.MIN_START_RATIO).quantize(Decimal("1"), ROUND_CEILING)
    increment = max(Decimal("100"), (start / 100).quantize(Decimal("100"), ROUND_HALF_UP))
    notice = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    bidding = notice + timedelta(days=rules.NOTICE_DAYS)
    return {"starting_price": start, "deposit_amount": (start / 10).quantize(rules.CENT), "increment": increment,
            "notice_starts_at": notice, "bidding_starts_at": bidding, "ends_at": bidding + rules.MIN_BIDDING}


def list_loan_for_disposal(session: Session, actor: User, loan_id: int, now: datetime,
                           valuations: dict[int, Decimal] | None = None, terms: dict | None = None) -> list[Listing]:
    """"List for disposal" of a defaulted loan: one auction listing per actively pledged asset not yet listed, each
    with its due-diligence pack, submitted for staff review; the loan (and its assets) move to in_disposal.

    The valuation of each asset comes from market.valuations when it has one, else from `valuations[asset_id]`.
    The loan's row lock comes first, so two people listing the same loan at once queue: the second then sees the
    first's lots (409), never lists twice."""
    require(actor, Role.STAFF, Role.BANK)
    lock_row(session, Loan, loan_id)
    loan = get_loan(session, loan_id)
    if actor.role is Role.BANK and actor.organisation_id != loan.bank_org_id:
        raise Forbidden("Only exchange staff or the lending bank can list this loan's pledges.")
    if loan.status not in (LoanStatus.DEFAULTED, LoanStatus.IN_DISPOSAL):
        raise Conflict("Only a defaulted loan's pledges can be listed for disposal.")
    assets = unlisted_assets(session, loan)
    if not assets:
        raise Conflict("Every pledged asset of this loan is already listed.")
    valuations = valuations or {}
    made = []
    for asset in assets:
        report = latest_valuation(session, asset.id, now.date())
        value = report.amount if report is not None else valuations.get(asset.id)
        if value is None or value <= 0:
            raise InvalidInput("Enter a valuation for asset %(asset)s.", asset=asset.title)
        listing_terms = {**default_terms(value, now), **(terms or {})}
        listing = create_listing(
            session, actor, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=value, now=now,
            kind=ListingKind.AUCTION, loan_id=loan.id, bank_org_id=loan.bank_org_id, **listing_terms)
        submit_listing(session, actor, listing, now)
        made.append(listing)
    if loan.status is LoanStatus.DEFAULTED:
        start_disposal(session, actor, loan.id, now)
    return made


def unlisted_assets(session: Session, loan: Loan) -> list[IpAsset]:
    """The loan's actively pledged assets that no listing (other than a cancelled one) holds."""
    listed = set(session.scalars(select(Listing.asset_id).where(
        Listing.loan_id == loan.id, Listing.status.not_in([ListingStatus.CANCELLED]))))
    return [p.asset for p in loan.pledges if p.active and p.asset_id not in listed]


def defaulted_loans_to_list(session: Session) -> list:
    """Defaulted loans (or in disposal) with at least one active pledge not yet listed: the staff's to-do list, as
    (loan, assets) pairs."""
    loans = session.scalars(select(Loan).where(Loan.status.in_([LoanStatus.DEFAULTED, LoanStatus.IN_DISPOSAL]))
                            .order_by(Loan.id)).all()
    return [(loan, waiting) for loan in loans if (waiting := unlisted_assets(session, loan))]


def owner_assets(session: Session, actor: User) -> list[IpAsset]:
    """Assets an owner may offer for transfer or licence (its own granted assets, not in disposal)."""
    if actor.organisation_id is None:
        return []
    return list(session.scalars(select(IpAsset).where(IpAsset.owner_org_id == actor.organisation_id)
                                .order_by(IpAsset.id).limit(500)))


# ------------------------------------------------------------------------------------------------ objections

def file_objection(session: Session, actor: User, listing: Listing, reason: str, now: datetime) -> Objection:
    """An objection during the announcement period (before bidding starts); staff are told."""
    require(actor, *Role)
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput("Give the reason for the objection.")
    if listing.status is not ListingStatus.ANNOUNCED or now >= listing.bidding_starts_at:
        raise Conflict("Objections are taken only during the announcement period.")
    objection = Objection(listing_id=listing.id, user_id=actor.id, org_id=actor.organisation_id, reason=reason[:4000],
                          status=ObjectionStatus.OPEN, created_at=now)
    session.add(objection)
    session.flush()
    record(session, actor=actor, action="listing.objection_filed", entity_type="listing", entity_id=listing.id,
           now=now, after={"objection": objection.id})
    notify(session, msgid="An objection to lot %(lot)s awaits a decision.", now=now, role=Role.STAFF.value,
           link=f"/exchange/staff/{listing.id}", lot=listing.id)
    return objection


def resolve_objection(session: Session, actor: User, objection_id: int, uphold: bool, note: str | None,
                      now: datetime) -> Objection:
    """Staff decide: an upheld objection cancels the lot (deposits refunded); a dismissed one lets it go on."""
    require(actor, Role.STAFF)
    objection = get_or_fail(session, Objection, objection_id, "This objection does not exist.")
    lock_row(session, Listing, objection.listing_id)  # two decisions at once queue: the second sees the first
    session.refresh(objection)
    if objection.status is not ObjectionStatus.OPEN:
        raise Conflict("This objection has already been resolved.")
    objection.status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED
    objection.resolved_at, objection.resolved_by_id, objection.resolution = now, actor.id, (note or None)
    session.flush()
    listing = get_listing(session, objection.listing_id)
    record(session, actor=actor, action=f"listing.objection_{objection.status.value}", entity_type="listing",
           entity_id=listing.id, now=now, after={"objection": objection.id, "note": note})
    if uphold and listing.status in OPEN:
        cancel_listing(session, actor, listing, now, note=f"objection {objection.id} upheld")
    msgid = ("Your objection to lot %(lot)s was upheld; the lot is cancelled." if uphold
             else "Your objection to lot %(lot)s was dismissed.")
    notify(session, msgid=msgid, now=now, user_id=objection.user_id, link=f"/exchange/{listing.id}", lot=listing.id)
    return objection


def objections_of(session: Session, listing_id: int) -> list[Objection]:
    return list(session.scalars(select(Objection).where(Objection.listing_id == listing_id).order_by(Objection.id)))


def open_objections(session: Session) -> list[Objection]:
    return list(session.scalars(select(Objection).where(Objection.status == ObjectionStatus.OPEN)
                                .order_by(Objection.id)))
