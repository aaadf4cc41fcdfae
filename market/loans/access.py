"""Who may reach a loan: the one rule of which loans an actor may see (listed or one by one, on the loan pages, in the
API and on a need's page) and the bank's own loan it may write."""

from __future__ import annotations

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.db import get_or_fail, lock_row
from market.errors import NotFound
from market.loans.models import Loan
from market.security import require

# The organisation column that makes an actor of each role a party to a loan; staff see every loan.
PARTIES = {Role.BANK: Loan.bank_org_id, Role.ENTERPRISE: Loan.enterprise_org_id,
           Role.GUARANTOR: Loan.guarantor_org_id, Role.INSURER: Loan.insurer_org_id}
LOAN_READERS = (Role.STAFF, *PARTIES)


def may_see(actor, loan: Loan) -> bool:
    """Staff, and the loan's bank, enterprise, guarantor and insurer, each in its own role."""
    if actor is None or actor.role not in LOAN_READERS:
        return False
    if actor.role is Role.STAFF:
        return True
    return actor.organisation_id is not None and getattr(loan, PARTIES[actor.role].key) == actor.organisation_id


def visible_loans(actor) -> Select:
    """The loans the actor may see (`may_see`), newest first: staff all, a party the loans it takes part in, anyone
    else none."""
    query = select(Loan).order_by(Loan.id.desc())
    if actor is not None and actor.role is Role.STAFF:
        return query
    if actor is None or actor.role not in PARTIES or actor.organisation_id is None:
        return query.where(false())
    return query.where(PARTIES[actor.role] == actor.organisation_id)


def get_loan(session: Session, loan_id: int) -> Loan:
    loan = get_or_fail(session, Loan, loan_id, "This loan does not exist.")
    return loan


def loan_for(session: Session, actor, loan_id: int) -> Loan:
    """A loan the actor may see (`may_see`); to anyone else it does not exist."""
    loan = get_loan(session, loan_id)
    if not may_see(actor, loan):
        raise NotFound("This loan does not exist.")
    return loan


def own_bank_loan(session: Session, actor, loan_id: int) -> Loan:
    """The actor's bank's loan, read under its row lock: the bank's writes on one loan (repayments, default)
    queue, and each judges what the one before it committed."""
    require(actor, Role.BANK)
    lock_row(session, Loan, loan_id)
    loan = get_loan(session, loan_id)
    if loan.bank_org_id != actor.organisation_id:
        raise NotFound("This loan does not exist.")
    return loan
