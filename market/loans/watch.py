"""Post-loan monitoring: the daily tick (overdue and cured loans) and watch flags on pledged assets."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.db import lock_rows
from market.ip.models import LegalStatus
from market.loans.models import OPEN_STATUSES, Loan, LoanStatus, Pledge, WatchFlag
from market.loans.schedule import amount_overdue, is_overdue
from market.loans.states import LOAN
from market.notices.service import notify
from market.security import N_
from market.valuations.service import latest_valuation, valuations_for_asset

BAD_STATUSES = {
    LegalStatus.LAPSED: "lapsed",
    LegalStatus.INVALIDATED: "invalidated",
    LegalStatus.EXPIRED: "expired",
    LegalStatus.REJECTED: "rejected",
    LegalStatus.WITHDRAWN: "withdrawn",
}


def _raise_flag(session: Session, loan: Loan, pledge: Pledge, reason: str, now: datetime) -> bool:
    exists = session.scalar(select(WatchFlag.id).where(WatchFlag.pledge_id == pledge.id, WatchFlag.reason == reason))
    if exists:
        return False
    session.add(WatchFlag(loan_id=loan.id, pledge_id=pledge.id, asset_id=pledge.asset_id, reason=reason,
                          raised_at=now))
    session.flush()
    title = pledge.asset.title
    msg = "A pledged asset of loan %(loan)s changed: %(title)s (%(reason)s)."
    link = f"/loans/{loan.id}"
    notify(session, msgid=msg, now=now, org_id=loan.bank_org_id, link=link, loan=loan.id, title=title, reason=reason)
    notify(session, msgid=msg, now=now, role=Role.STAFF.value, link=link, loan=loan.id, title=title, reason=reason)
    return True


def watch_reasons(loan: Loan, pledge: Pledge) -> list[str]:
    asset = pledge.asset
    reasons = []
    if asset.legal_status in BAD_STATUSES:
        reasons.append(BAD_STATUSES[asset.legal_status])
    if asset.owner_org_id != loan.enterprise_org_id:
        reasons.append("transferred")
    if asset.frozen:
        reasons.append("frozen")
    return reasons


def tick(session: Session, today: date, now: datetime) -> dict[str, int]:
    """Daily post-loan run: overdue detection (and cure), watch flags for pledged assets. Idempotent.

    The loans are read under their row locks (in id order, see `lock_rows`): a repayment or a default committed
    while the tick runs is either seen by it or waits for it, so the tick never moves a loan from a state it no
    longer has (a repaid loan set back to overdue)."""
    counts = {"overdue": 0, "cured": 0, "flags": 0}
    ids = session.scalars(select(Loan.id).where(Loan.status.in_(
        [LoanStatus.ACTIVE, LoanStatus.OVERDUE, LoanStatus.DEFAULTED, LoanStatus.IN_DISPOSAL]))).all()
    for loan in lock_rows(session, Loan, ids):
        if loan.status is LoanStatus.ACTIVE and is_overdue(loan, today):
            LOAN.move(session, None, loan, LoanStatus.OVERDUE, now)
            counts["overdue"] += 1
            msg = "Loan %(loan)s is overdue by %(amount)s."
            amount = amount_overdue(loan, today)
            notify(session, msgid=msg, now=now, org_id=loan.bank_org_id, link=f"/loans/{loan.id}", loan=loan.id,
                   amount=amount)
            notify(session, msgid=msg, now=now, role=Role.STAFF.value, link=f"/loans/{loan.id}", loan=loan.id,
                   amount=amount)
            notify(session, msgid=N_("Your loan %(loan)s is overdue by %(amount)s: repay it."), now=now, org_id=loan.enterprise_org_id, link=f"/loans/{loan.id}", loan=loan.id, amount=amount)  # noqa: E501
        elif loan.status is LoanStatus.OVERDUE and not is_overdue(loan, today):
            LOAN.move(session, None, loan, LoanStatus.ACTIVE, now, action="loan.cured")
            counts["cured"] += 1
        for pledge in loan.pledges:
            if pledge.active:
                for reason in watch_reasons(loan, pledge) + valuation_reasons(session, loan, pledge, today):
                    counts["flags"] += _raise_flag(session, loan, pledge, reason, now)
    return counts


VALUATION_WARNING_DAYS = 30


def valuation_reasons(session: Session, loan: Loan, pledge: Pledge, today: date,
                      warning_days: int = VALUATION_WARNING_DAYS) -> list[str]:
    """Watch the valuation reports of a pledged asset (market.valuations): "valuation_expiring" when the report in
    force ends within `warning_days` days and before the loan matures; "valuation_expired" when the asset has
    reports but none is in force any more. Nothing when the asset has no report."""
    if loan.status not in OPEN_STATUSES:
        return []
    current = latest_valuation(session, pledge.asset_id, today)
    if current is None:
        return ["valuation_expired"] if valuations_for_asset(session, pledge.asset_id) else []
    if current.valid_until <= today + timedelta(days=warning_days) and current.valid_until < loan.maturity:
        return ["valuation_expiring"]
    return []
