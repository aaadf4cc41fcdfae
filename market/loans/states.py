"""The audited status changes of loans and compensation claims."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from market.audit.service import record, snapshot
from market.loans.models import LOAN_STATES, CompensationStatus, Loan, LoanStatus
from market.states import StateMachine

LOAN_FIELDS = ["status", "principal", "annual_rate", "defaulted_on"]
CLAIM_FIELDS = ["status", "compensation", "approved_at", "paid_at"]

# A claim is assembled `submitted` (or `not_covered` when there is nothing to pay, which is final).
CLAIM = StateMachine("claim", {
    CompensationStatus.SUBMITTED: {CompensationStatus.APPROVED, CompensationStatus.REJECTED},
    CompensationStatus.APPROVED: {CompensationStatus.PAID},
}, fields=CLAIM_FIELDS)


def set_status(session: Session, actor, loan: Loan, status: LoanStatus, now: datetime, action: str) -> None:
    LOAN_STATES.check(loan.status, status)
    before = snapshot(loan, LOAN_FIELDS)
    loan.status = status
    session.flush()
    record(session, actor=actor, action=action, entity_type="loan", entity_id=loan.id, now=now, before=before,
           after=snapshot(loan, LOAN_FIELDS))
