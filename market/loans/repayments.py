"""Repayments: recorded by the bank; the last one repays the loan and releases its pledges."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from market.audit.service import record
from market.errors import Conflict, InvalidInput
from market.ip import register
from market.loans.access import own_bank_loan
from market.loans.models import OPEN_STATUSES, Loan, LoanStatus, Repayment
from market.loans.schedule import is_overdue, outstanding_principal
from market.loans.states import LOAN
from market.policy.rules import as_decimal, money


def _release_pledges(session: Session, actor, loan: Loan, now: datetime) -> None:
    for pledge in loan.pledges:
        if pledge.active:
            pledge.active = False
            pledge.released_at = now
            register.release(session, actor, pledge.asset, now, note=f"loan {loan.id}")
    session.flush()


def record_repayment(session: Session, bank_user, loan_id: int, *, paid_on: date, principal, interest,
                     now: datetime) -> Repayment:
    """Record a repayment. The loan's row lock comes first: 30 full repayments at once queue, and each judges the
    outstanding principal the ones before it left (one is recorded, the rest refused)."""
    loan = own_bank_loan(session, bank_user, loan_id)
    if loan.status not in OPEN_STATUSES:
        raise Conflict("Repayments can only be recorded on an active or overdue loan.")
    principal = money(as_decimal(principal, "principal"))
    interest = money(as_decimal(interest, "interest"))
    if principal < 0 or interest < 0 or (principal == 0 and interest == 0):
        raise InvalidInput("A repayment needs a positive principal or interest.")
    if principal > outstanding_principal(loan):
        raise InvalidInput("The principal repaid exceeds the outstanding principal.")
    if paid_on < loan.signed_on:
        raise InvalidInput("A repayment cannot precede the signing date.")
    repayment = Repayment(loan=loan, paid_on=paid_on, principal=principal, interest=interest,
                          recorded_by_id=bank_user.id, created_at=now)
    session.add(repayment)
    session.flush()
    record(session, actor=bank_user, action="loan.repayment", entity_type="loan", entity_id=loan.id, now=now,
           after={"paid_on": paid_on, "principal": principal, "interest": interest})
    if outstanding_principal(loan) == 0:
        LOAN.move(session, bank_user, loan, LoanStatus.REPAID, now)
        _release_pledges(session, bank_user, loan, now)
    elif loan.status is LoanStatus.OVERDUE and not is_overdue(loan, paid_on):
        LOAN.move(session, bank_user, loan, LoanStatus.ACTIVE, now, action="loan.cured")
    return repayment
