"""Pre-emption holders (优先购买权人: co-owners, exclusive licensees) of a lot.

Staff register each known holder before the lot is announced (a name, the kind of right and, when the holder will
bid, their bidder account), and record every time the holder was told of the coming disposal (when and how). The
lot cannot be announced until every holder was told at least three days earlier (`rules.told_in_time`, checked by
`listings.review_listing`). While bidding, a holder's account may match the current price when the leader holds no
such right, and so wins a tie at equal price (`rules.next_min_bid`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.accounts.models import Role, User
from market.audit.service import record, snapshot
from market.db import get_or_fail, lock_row
from market.errors import Conflict, InvalidInput, NotFound
from market.exchange import rules
from market.exchange.models import (
    Listing,
    ListingStatus,
    NoticeMethod,
    PreemptionKind,
    PreemptionNotice,
    PreemptionRight,
)
from market.security import require

BEFORE_ANNOUNCEMENT = (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW)
HOLDER_FIELDS = ["name", "kind", "user_id", "notified_at"]


def holders_of(session: Session, listing_id: int) -> list[PreemptionRight]:
    return list(session.scalars(select(PreemptionRight).where(PreemptionRight.listing_id == listing_id)
                                .order_by(PreemptionRight.id)))


def notices_of(session: Session, listing_id: int) -> dict[int, list[PreemptionNotice]]:
    out: dict[int, list[PreemptionNotice]] = {}
    for notice in session.scalars(select(PreemptionNotice).where(PreemptionNotice.listing_id == listing_id)
                                  .order_by(PreemptionNotice.told_at)):
        out.setdefault(notice.preemption_id, []).append(notice)
    return out


def is_holder(session: Session, listing_id: int, user_id: int) -> bool:
    return session.scalar(select(PreemptionRight.id).where(PreemptionRight.listing_id == listing_id,
                                                           PreemptionRight.user_id == user_id)) is not None


def register_holder(session: Session, actor: User, listing: Listing, *, name: str, kind: PreemptionKind,
                    user_id: int | None, now: datetime) -> PreemptionRight:
    """Staff register a known holder on a lot that is not yet announced (one entry per bidder account)."""
    require(actor, Role.STAFF)
    listing = lock_row(session, Listing, listing.id)
    if listing.status not in BEFORE_ANNOUNCEMENT:
        raise Conflict("Pre-emption holders are registered before the lot is announced.")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the holder's name.")
    if user_id is not None and session.get(User, user_id) is None:
        raise NotFound("No account has this number.")
    if user_id is not None and is_holder(session, listing.id, user_id):
        raise Conflict("This account is already registered as a pre-emption holder of the lot.")
    holder = PreemptionRight(listing_id=listing.id, name=name[:200], kind=kind, user_id=user_id,
                             registered_by_id=actor.id, registered_at=now)
    try:
        with session.begin_nested():
            session.add(holder)
            session.flush()
    except IntegrityError:
        raise Conflict("This account is already registered as a pre-emption holder of the lot.") from None
    record(session, actor=actor, action="listing.preemption_registered", entity_type="listing", entity_id=listing.id,
           now=now, after={"holder_id": holder.id, **snapshot(holder, HOLDER_FIELDS)})
    return holder


def record_notice(session: Session, actor: User, holder_id: int, *, told_at: datetime, method: NoticeMethod,
                  note: str | None, now: datetime) -> PreemptionNotice:
    """Record that a holder was told (when, how) of the coming disposal; a time in the future is refused."""
    require(actor, Role.STAFF)
    holder = get_or_fail(session, PreemptionRight, holder_id, "This pre-emption holder does not exist.")
    if told_at > now:
        raise InvalidInput("The time the holder was told cannot be in the future.")
    before = snapshot(holder, HOLDER_FIELDS)
    notice = PreemptionNotice(preemption_id=holder.id, listing_id=holder.listing_id, told_at=told_at, method=method,
                              note=(note or "").strip()[:500] or None, recorded_by_id=actor.id, recorded_at=now)
    session.add(notice)
    if holder.notified_at is None or told_at < holder.notified_at:
        holder.notified_at = told_at
    session.flush()
    record(session, actor=actor, action="listing.preemption_notified", entity_type="listing",
           entity_id=holder.listing_id, now=now, before=before,
           after={"holder_id": holder.id, "told_at": told_at, "method": method.value,
                  **snapshot(holder, HOLDER_FIELDS)})
    return notice


def check_told(session: Session, listing: Listing, announced_at: datetime) -> None:
    """Refuse an announcement at `announced_at` while a holder was not told at least three days before it."""
    for holder in holders_of(session, listing.id):
        if not rules.told_in_time(holder.notified_at, announced_at):
            raise InvalidInput("Pre-emption holder %(name)s must be told at least 3 days before the announcement.",
                               name=holder.name)


def copy_holders(session: Session, src: Listing, dst: Listing) -> None:
    """A re-auction or fixed-price sale keeps the lot's holders, with what they were told."""
    for right in holders_of(session, src.id):
        session.add(PreemptionRight(listing_id=dst.id, name=right.name, user_id=right.user_id, kind=right.kind,
                                    notified_at=right.notified_at, registered_by_id=right.registered_by_id,
                                    registered_at=right.registered_at))
    session.flush()


def public_summary(session: Session, listing_id: int) -> list[dict]:
    """What bidders see: how many holders of each kind (names stay with the exchange)."""
    rows = session.execute(select(PreemptionRight.kind, func.count()).where(PreemptionRight.listing_id == listing_id)
                           .group_by(PreemptionRight.kind).order_by(PreemptionRight.kind)).all()
    return [{"kind": kind.value, "count": n} for kind, n in rows]
