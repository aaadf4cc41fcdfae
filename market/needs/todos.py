"""What waits on each role in the needs database, for the workspace's to-do list (area.py `todos`)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from market.accounts.models import Role
from market.needs.docking import active_products, response_deadline
from market.needs.matching import lends_to
from market.needs.models import Claim, ClaimStatus, Need, NeedStatus, Offer, OfferStatus
from market.needs.rules import DEFAULT_RESPONSE_WORKING_DAYS, add_working_days, working_days_left
from market.notices.service import Todo

LIMIT = 50


def _days() -> int:
    if not has_app_context():
        return DEFAULT_RESPONSE_WORKING_DAYS
    return current_app.config.get("NEEDS_RESPONSE_WORKING_DAYS", DEFAULT_RESPONSE_WORKING_DAYS)


def timed(text: str, url: str, now: datetime, deadline: datetime) -> Todo:
    """A to-do with a deadline counted in working days."""
    left = working_days_left(now, deadline)
    return Todo(text=text, url=url, due=deadline, working_days_left=left, late=deadline < now)


def offer_deadline(offer: Offer) -> datetime:
    """The enterprise answers an offer within the same working days a bank has to answer a published need."""
    return add_working_days(offer.created_at, _days())


def enterprise_todos(session: Session, user, now: datetime) -> list[Todo]:
    items = []
    offers = session.scalars(select(Offer).join(Need, Need.id == Offer.need_id).where(
        Need.org_id == user.organisation_id, Offer.status == OfferStatus.PENDING)
        .order_by(Offer.created_at).limit(LIMIT))
    for offer in offers:
        items.append(timed(_("Answer the offer of %(bank)s on “%(title)s”", bank=offer.bank.name,
                             title=offer.need.title), f"/needs/{offer.need_id}", now, offer_deadline(offer)))
    for need in session.scalars(select(Need).where(Need.org_id == user.organisation_id,
                                                   Need.status.in_([NeedStatus.DRAFT, NeedStatus.REJECTED]))
                                .order_by(Need.id).limit(LIMIT)):
        text = (_("Revise and resubmit the returned need “%(title)s”", title=need.title)
                if need.status is NeedStatus.REJECTED else _("Finish and submit the draft need “%(title)s”",
                                                               title=need.title))
        items.append(Todo(text=text, url=f"/needs/{need.id}"))
    return items


def unanswered_needs_for(session: Session, bank_org_id: int) -> list[Need]:
    """The published needs no bank answered yet that wait on this bank, oldest first: those one of its active
    products could lend to as posted (`matching.lends_to`: amount, term, rate, every IP kind and the industry fit),
    and those whose enterprise named it as a preferred bank. Other banks' matches are not its to-do."""
    products = active_products(session, bank_org_id)
    needs = session.scalars(select(Need).options(selectinload(Need.preferred))
                            .where(Need.status == NeedStatus.PUBLISHED, Need.first_response_at.is_(None))
                            .order_by(Need.published_at, Need.id))
    return [n for n in needs
            if bank_org_id in n.preferred_bank_ids or any(lends_to(n, p) for p in products)]


def bank_todos(session: Session, user, now: datetime) -> list[Todo]:
    items = []
    claims = session.scalars(select(Claim).join(Need, Need.id == Claim.need_id).where(
        Claim.bank_org_id == user.organisation_id, Claim.status.in_([ClaimStatus.INTEREST, ClaimStatus.MEETING]),
        Need.status == NeedStatus.IN_TALKS).order_by(Claim.created_at).limit(LIMIT))
    for claim in claims:
        items.append(timed(_("Make an offer or step back on “%(title)s”", title=claim.need.title),
                           f"/needs/{claim.need_id}", now, add_working_days(claim.created_at, _days())))
    for need in unanswered_needs_for(session, user.organisation_id)[:LIMIT]:
        items.append(timed(_("Answer the published need “%(title)s” before it is escalated", title=need.title),
                           f"/needs/{need.id}", now, response_deadline(need, _days())))
    return items


def staff_todos(session: Session, user, now: datetime) -> list[Todo]:
    items = []
    for need in session.scalars(select(Need).where(Need.status == NeedStatus.SUBMITTED)
                                .order_by(Need.submitted_at).limit(LIMIT)):
        items.append(Todo(text=_("Review the submitted need “%(title)s”", title=need.title), url=f"/needs/{need.id}",
                          due=need.submitted_at))
    for need in session.scalars(select(Need).where(Need.status == NeedStatus.PUBLISHED,
                                                   Need.first_response_at.is_(None))
                                .order_by(Need.published_at).limit(LIMIT)):
        deadline = response_deadline(need, _days())
        if need.escalated_at is not None or deadline < now:
            items.append(timed(_("Escalated: no bank answered “%(title)s”", title=need.title),
                               f"/needs/{need.id}", now, deadline))
    return items


TODOS = [({Role.ENTERPRISE}, enterprise_todos), ({Role.BANK}, bank_todos), ({Role.STAFF}, staff_todos)]
