"""Default and disposal: the bank declares a default past the grace period (or staff confirm one it asks for),
the exchange starts the disposal, and the defaulted loan ends once its compensation claim is final.

Interface for the exchange area (disposal of defaulted pledges): a loan the bank declared `defaulted` has its pledged
assets listed by the exchange; call `start_disposal(session, actor, loan_id, now)` when they are put up (loan →
in_disposal, assets → in_disposal); when the disposal settles, `market.loans.claims.assemble_claim` assembles the
compensation claim (loss = outstanding principal − recovery) for staff approval.

How a defaulted loan ends (`end_after_claim`): once its claim is final the loan leaves disposal, audited, with
`closed_at` set. A recovery covering the outstanding principal (no loss) → `closed` (fully recovered); otherwise the
loss is written off → `written_off`, when the fund paid the compensation, when staff rejected the claim, or at once
when nothing is covered (rate above the cap, or the guarantor and insurer carry the whole loss). A submitted or
approved claim still waiting (for staff, or for the fund) keeps the loan in disposal. The loan's outstanding
principal is kept as it was at default (the claim and the exchange's results compare against it); an ended loan
owes nothing overdue.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.audit.service import record
from market.db import lock_row
from market.errors import Conflict, Forbidden, InvalidInput
from market.ip import register
from market.loans.access import get_loan, own_bank_loan
from market.loans.models import (
    OPEN_STATUSES,
    CompensationClaim,
    CompensationStatus,
    DefaultBasis,
    Loan,
    LoanStatus,
)
from market.loans.schedule import OverdueFacts, overdue_facts
from market.loans.states import LOAN
from market.notices.service import notify
from market.security import N_, require

REASON_MAX = 500


def required_reason(reason: str | None, what: str = "Give the reason.") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(what)
    if len(reason) > REASON_MAX:
        raise InvalidInput("The reason is too long (at most %(max)s characters).", max=REASON_MAX)
    return reason


def _mark_default(session: Session, actor, loan: Loan, basis: DefaultBasis, reason: str, facts: OverdueFacts,
                  now: datetime, **extra) -> Loan:
    """An open loan, read under its row lock, → defaulted with its basis, reason and the overdue facts of the day."""
    if loan.status not in OPEN_STATUSES:
        raise Conflict("This loan is no longer active or overdue.")
    LOAN.move(session, actor, loan, LoanStatus.DEFAULTED, now, also={
        "defaulted_on": now.date(), "default_basis": basis, "default_reason": reason,
        "default_facts": facts.as_dict(), **extra})
    link = f"/loans/{loan.id}"
    if basis is DefaultBasis.STAFF:  # the bank asked, exchange staff confirmed: each notice says who did what
        notify(session, msgid=N_("Exchange staff confirmed the default of loan %(loan)s that the bank asked for; its "
                                 "pledges await disposal."), now=now, role=Role.STAFF.value, link=link, loan=loan.id)
        notify(session, msgid=N_("Exchange staff confirmed the default you asked for on loan %(loan)s; its pledges may "
                                 "now be listed for disposal."), now=now, org_id=loan.bank_org_id, link=link,
               loan=loan.id)
        notify(session, msgid=N_("At the bank's request, exchange staff confirmed that your loan %(loan)s is in "
                                 "default; its pledged IP will be disposed of."), now=now,
               org_id=loan.enterprise_org_id, link=link, loan=loan.id)
    else:
        notify(session, msgid=N_("The bank declared loan %(loan)s in default; its pledges await disposal."), now=now,
               role=Role.STAFF.value, link=link, loan=loan.id)
        notify(session, msgid=N_("The bank declared your loan %(loan)s in default; its pledged IP will be disposed "
                                 "of."), now=now, org_id=loan.enterprise_org_id, link=link, loan=loan.id)
    return loan


def declare_default(session: Session, bank_user, loan_id: int, now: datetime, reason: str | None = None) -> Loan:
    """The bank declares its loan in default, with a reason, when an instalment has been overdue for more than the
    grace period of the loan's policy (90 days in the 2015 version). Earlier, only exchange staff can confirm a
    default the bank asks for (`request_default`, `confirm_default`)."""
    loan = own_bank_loan(session, bank_user, loan_id)
    reason = required_reason(reason, "Give the reason for the default.")
    LOAN.check(loan.status, LoanStatus.DEFAULTED)
    facts = overdue_facts(loan, now.date())
    if not facts.past_grace:
        raise Conflict("No instalment is more than %(days)s days overdue (the grace period of the policy; "
                       "%(amount)s overdue now): ask exchange staff to confirm the default, with your reason.",
                       days=facts.grace_days, amount=facts.amount_overdue)
    return _mark_default(session, bank_user, loan, DefaultBasis.OVERDUE, reason, facts, now)


def request_default(session: Session, bank_user, loan_id: int, now: datetime, reason: str | None = None) -> Loan:
    """The bank asks exchange staff to confirm a default before the grace period has run (the enterprise stopped
    trading, fraud, ...): the loan stays as it is until staff decide."""
    loan = own_bank_loan(session, bank_user, loan_id)
    reason = required_reason(reason, "Give the reason for the default.")
    LOAN.check(loan.status, LoanStatus.DEFAULTED)
    changed = session.execute(
        update(Loan).where(Loan.id == loan.id, Loan.status.in_(OPEN_STATUSES), Loan.default_requested_at.is_(None))
        .values(default_requested_at=now, default_request_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("A default request for this loan already waits for staff.")
    session.refresh(loan)
    record(session, actor=bank_user, action="loan.default_requested", entity_type="loan", entity_id=loan.id,
           now=now, after={"reason": reason, "facts": overdue_facts(loan, now.date()).as_dict()})
    return loan


def _requested_loan(session: Session, staff, loan_id: int) -> Loan:
    """The loan whose default request waits for staff, read under its row lock (the bank's writes queue behind)."""
    require(staff, Role.STAFF)
    lock_row(session, Loan, loan_id)
    loan = get_loan(session, loan_id)
    if loan.default_requested_at is None or loan.status not in OPEN_STATUSES:
        raise Conflict("No default request of the bank waits on this loan.")
    return loan


def confirm_default(session: Session, staff, loan_id: int, now: datetime, reason: str | None = None) -> Loan:
    """Exchange staff confirm the default the bank asked for, with their own reason (audited with the bank's)."""
    loan = _requested_loan(session, staff, loan_id)
    reason = required_reason(reason, "Give the reason for confirming the default.")
    facts = overdue_facts(loan, now.date())
    return _mark_default(session, staff, loan, DefaultBasis.STAFF, reason, facts, now,
                         default_confirmed_by_id=staff.id)


def refuse_default(session: Session, staff, loan_id: int, now: datetime, reason: str | None = None) -> Loan:
    """Exchange staff refuse the bank's default request, with a reason: the loan goes on as before."""
    loan = _requested_loan(session, staff, loan_id)
    reason = required_reason(reason, "Give the reason for refusing the default.")
    request = {"requested_at": loan.default_requested_at, "request_reason": loan.default_request_reason}
    changed = session.execute(
        update(Loan).where(Loan.id == loan.id, Loan.default_requested_at.is_not(None), Loan.status.in_(OPEN_STATUSES))
        .values(default_requested_at=None, default_request_reason=None).execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("No default request of the bank waits on this loan.")
    session.refresh(loan)
    record(session, actor=staff, action="loan.default_refused", entity_type="loan", entity_id=loan.id, now=now,
           before=request, after={"reason": reason})
    notify(session, msgid=N_("Exchange staff refused the default you asked for on loan %(loan)s: %(reason)s"),
           now=now, org_id=loan.bank_org_id, link=f"/loans/{loan.id}", loan=loan.id, reason=reason)
    return loan


def default_requests(session: Session) -> list[Loan]:
    return list(session.scalars(select(Loan).where(Loan.default_requested_at.is_not(None),
                                                   Loan.status.in_(OPEN_STATUSES))
                                .order_by(Loan.default_requested_at, Loan.id)))


def start_disposal(session: Session, actor, loan_id: int, now: datetime) -> Loan:
    """Called when the exchange lists the pledged assets of a defaulted loan."""
    loan = get_loan(session, loan_id)
    if actor is not None and actor.role is not Role.STAFF and actor.organisation_id != loan.bank_org_id:
        raise Forbidden("Your role cannot do this.")
    LOAN.move(session, actor, loan, LoanStatus.IN_DISPOSAL, now)
    for pledge in loan.pledges:
        if pledge.active:
            register.to_disposal(session, actor, pledge.asset, now, note=f"loan {loan.id}")
    return loan


def end_after_claim(session: Session, actor, claim: CompensationClaim, now: datetime) -> LoanStatus | None:
    """End the claim's defaulted loan once the claim is final (paid, rejected or not covered): `closed` when the
    recovery covered the outstanding principal (no loss), else `written_off` (the loss less what the guarantor,
    insurer and fund carried stays with the bank). Audited as loan.closed / loan.written_off with `closed_at`.
    Returns the new status, or None when the claim still waits or the loan is not in default any more."""
    loan = claim.loan
    if claim.status in (CompensationStatus.SUBMITTED, CompensationStatus.APPROVED):
        return None
    if loan.status not in (LoanStatus.DEFAULTED, LoanStatus.IN_DISPOSAL):
        return None
    status = LoanStatus.CLOSED if Decimal(claim.loss) == 0 else LoanStatus.WRITTEN_OFF
    LOAN.move(session, actor, loan, status, now, also={"closed_at": now},
              note=f"claim {claim.id} ({claim.status.value}): recovery {claim.recovery}, loss {claim.loss}, "
                   f"compensation {claim.compensation}")
    return status
