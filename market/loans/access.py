"""Who may reach a loan: the actor guard of loan services and the loans an actor may see or write."""

from __future__ import annotations

from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.db import lock_row
from market.errors import Forbidden, NotFound
from market.loans.models import Loan


def require_role(actor, *roles: Role) -> None:
    if actor is None or actor.role not in roles:
        raise Forbidden("Your role cannot do this.")
    if not actor.can_act:
        raise Forbidden("Your organisation must be verified before it can act.")


def get_loan(session: Session, loan_id: int) -> Loan:
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound("This loan does not exist.")
    return loan


def loan_for(session: Session, actor, loan_id: int) -> Loan:
    """A loan the actor may see: its bank, its enterprise, its guarantor/insurer, or staff."""
    loan = get_loan(session, loan_id)
    if actor.role is Role.STAFF:
        return loan
    if actor.organisation_id is not None and actor.organisation_id in (
        loan.bank_org_id, loan.enterprise_org_id, loan.guarantor_org_id, loan.insurer_org_id
    ):
        return loan
    raise NotFound("This loan does not exist.")


def own_bank_loan(session: Session, actor, loan_id: int) -> Loan:
    """The actor's bank's loan, read under its row lock: the bank's writes on one loan (repayments, default)
    queue, and each judges what the one before it committed."""
    require_role(actor, Role.BANK)
    lock_row(session, Loan, loan_id)
    loan = get_loan(session, loan_id)
    if loan.bank_org_id != actor.organisation_id:
        raise NotFound("This loan does not exist.")
    return loan
