"""What waits on each role around loans, for the workspace's to-do list (area.py `todos`)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.i18n import money
from market.loans.models import CompensationClaim, CompensationStatus, Loan, LoanStatus
from market.loans.schedule import amount_overdue
from market.needs.models import Need, NeedStatus, Offer, OfferStatus
from market.notices.service import Todo

LIMIT = 50


def bank_todos(session: Session, user, now: datetime) -> list[Todo]:
    items = []
    signed = select(Loan.offer_id).where(Loan.offer_id.is_not(None))
    offers = session.scalars(select(Offer).join(Need, Need.id == Offer.need_id).where(
        Offer.bank_org_id == user.organisation_id, Offer.status == OfferStatus.ACCEPTED,
        Need.status == NeedStatus.IN_TALKS, Offer.id.not_in(signed)).order_by(Offer.decided_at).limit(LIMIT))
    for offer in offers:
        items.append(Todo(text=_("Sign the loan of your accepted offer on “%(title)s”", title=offer.need.title),
                          url=f"/loans/from-offer/{offer.id}", due=offer.decided_at))
    for loan in session.scalars(select(Loan).where(Loan.bank_org_id == user.organisation_id,
                                                   Loan.status == LoanStatus.OVERDUE).order_by(Loan.id).limit(LIMIT)):
        items.append(Todo(text=_("Loan %(loan)s is overdue by %(amount)s: follow it up", loan=loan.id,
                                 amount=money(amount_overdue(loan, now.date()))), url=f"/loans/{loan.id}", late=True))
    return items


def enterprise_todos(session: Session, user, now: datetime) -> list[Todo]:
    loans = session.scalars(select(Loan).where(Loan.enterprise_org_id == user.organisation_id,
                                               Loan.status == LoanStatus.OVERDUE).order_by(Loan.id).limit(LIMIT))
    return [Todo(text=_("Your loan %(loan)s is overdue by %(amount)s: repay it", loan=loan.id,
                        amount=money(amount_overdue(loan, now.date()))), url=f"/loans/{loan.id}", late=True)
            for loan in loans]


def staff_todos(session: Session, user, now: datetime) -> list[Todo]:
    claims = session.scalars(select(CompensationClaim).where(CompensationClaim.status == CompensationStatus.SUBMITTED)
                             .order_by(CompensationClaim.id).limit(LIMIT))
    return [Todo(text=_("Decide the compensation claim for loan %(loan)s", loan=claim.loan_id), url="/loans/claims",
                 due=claim.created_at) for claim in claims]


TODOS = [({Role.BANK}, bank_todos), ({Role.ENTERPRISE}, enterprise_todos), ({Role.STAFF}, staff_todos)]
