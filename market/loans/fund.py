"""The compensation fund's ledger: its balance, contributions, premium subsidies, and what waits for it, paid in the
policy's spending order: credit enhancement (the premium subsidy, paid when staff pay it), then bad-loan
compensation (approved claims, in order of approval), then intermediary rewards, then the enterprise interest
subsidy (granted by staff, `market.loans.grants`). A short fund pays the earlier categories first: nothing of a later
category is paid while something of an earlier one waits."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.audit.service import record
from market.bounded import MONEY_COLUMN_MAX
from market.db import lock_row
from market.errors import Conflict, InvalidInput
from market.loans.access import get_loan
from market.loans.default import end_after_claim
from market.loans.models import (
    CompensationClaim,
    CompensationStatus,
    Fund,
    FundGrant,
    GrantKind,
    GrantStatus,
    LedgerAccount,
    LedgerLine,
    LedgerTxn,
    LoanStatus,
)
from market.loans.states import CLAIM, GRANT
from market.notices.service import notify
from market.policy.rules import ZERO, as_decimal, money, spending_rank
from market.policy.service import policy_in_force
from market.security import require

OPENING_CONTRIBUTION = Decimal("25000000.00")
FUND_ID = 1


def waiting_claims(session: Session) -> list[CompensationClaim]:
    return list(session.scalars(select(CompensationClaim).where(CompensationClaim.status == CompensationStatus.APPROVED)
                                .order_by(CompensationClaim.approved_at, CompensationClaim.id)))


def pay_claim(session: Session, claim: CompensationClaim, now: datetime) -> bool:
    """Pay one approved claim from the fund. Idempotent: a paid claim is not paid again (its row lock, taken after
    the fund's, plus the unique ledger reference); returns False when the fund is short (the claim keeps waiting)."""
    if claim.status is CompensationStatus.PAID:
        return False
    if claim.status is not CompensationStatus.APPROVED:
        raise Conflict("Only an approved claim can be paid.")
    ensure_fund(session, now)
    if not _debit_fund(session, claim.compensation):
        return False
    lock_row(session, CompensationClaim, claim.id)  # always the fund's row first, then the claim's
    if claim.status is not CompensationStatus.APPROVED:  # paid meanwhile by someone else: give the money back
        _credit_fund(session, claim.compensation)
        return False
    CLAIM.move(session, None, claim, CompensationStatus.PAID, now, also={"paid_at": now})
    _post(session, f"claim:{claim.id}", "compensation", claim.compensation, LedgerAccount.COMPENSATION_PAID,
          f"Compensation for loan {claim.loan_id}", None, now)
    end_after_claim(session, None, claim, now)
    loan = claim.loan
    notify(session, msgid="Compensation of %(amount)s for loan %(loan)s was paid.", now=now,
           org_id=loan.bank_org_id, link=f"/loans/{loan.id}", amount=claim.compensation, loan=loan.id)
    return True


GRANT_ACCOUNTS = {GrantKind.INTERMEDIARY_REWARD: LedgerAccount.REWARDS_PAID,
                  GrantKind.INTEREST_SUBSIDY: LedgerAccount.INTEREST_SUBSIDIES_PAID}


def waiting_grants(session: Session, now: datetime) -> list[FundGrant]:
    """Granted rewards and interest subsidies not yet paid, in the order the fund pays them: by the spending order
    of the policy in force, then first granted first."""
    policy = policy_in_force(session, now.date())
    grants = session.scalars(select(FundGrant).where(FundGrant.status == GrantStatus.WAITING)
                             .order_by(FundGrant.created_at, FundGrant.id))
    return sorted(grants, key=lambda g: spending_rank(policy, g.kind.value))  # stable: keeps the FIFO within a kind


def pay_grant(session: Session, grant: FundGrant, now: datetime) -> bool:
    """Pay one waiting grant from the fund, like a claim: the fund's row first (compare-and-set debit), then the
    grant's row lock; the unique ledger reference writes it at most once. False when the fund is short."""
    if grant.status is not GrantStatus.WAITING:
        return False
    ensure_fund(session, now)
    if not _debit_fund(session, grant.amount):
        return False
    lock_row(session, FundGrant, grant.id)
    if grant.status is not GrantStatus.WAITING:  # paid meanwhile by someone else: give the money back
        _credit_fund(session, grant.amount)
        return False
    GRANT.move(session, None, grant, GrantStatus.PAID, now, also={"paid_at": now})
    _post(session, grant.ref, grant.kind.value, grant.amount, GRANT_ACCOUNTS[grant.kind],
          f"{grant.kind.value} for loan {grant.loan_id} to organisation {grant.org_id}", None, now)
    notify(session, msgid="The fund paid %(amount)s for loan %(loan)s.", now=now, org_id=grant.org_id,
           amount=grant.amount, loan=grant.loan_id)
    return True


def pay_queue(session: Session, now: datetime) -> int:
    """Pay what waits, strictly in the spending order: approved claims in order of approval, then the granted
    rewards and interest subsidies (`waiting_grants`); stop at the first the fund cannot cover, so nothing later
    is paid before it."""
    paid = 0
    for claim in waiting_claims(session):
        if not pay_claim(session, claim, now):
            return paid
        paid += 1
    for grant in waiting_grants(session, now):
        if not pay_grant(session, grant, now):
            return paid
        paid += 1
    return paid


def open_fund(session: Session, now: datetime) -> dict[str, int]:
    """Set-up (`init_db`): open the fund unless it is open, so reading it never has to. Only flushes."""
    opened = session.get(Fund, FUND_ID) is None
    ensure_fund(session, now)
    return {"fund": int(opened)}


def ensure_fund(session: Session, now: datetime) -> Fund:
    """The fund row for a write; opened (set-up does it first, `open_fund`) with the ¥25,000,000 contribution of the
    municipal science fund when missing."""
    fund = session.get(Fund, FUND_ID)
    if fund is None:
        try:
            with session.begin_nested():  # a concurrent first use may open it: keep theirs
                session.add(Fund(id=FUND_ID, balance=ZERO))
        except IntegrityError:
            return session.get(Fund, FUND_ID)
        fund = session.get(Fund, FUND_ID)
        _credit_fund(session, OPENING_CONTRIBUTION)
        _post(session, "contribution:opening", "contribution", OPENING_CONTRIBUTION, LedgerAccount.FUND_CONTRIBUTIONS,
              "First fund from the municipal science special fund (市级财政科技专项资金)", None, now)
        session.refresh(fund)
    return fund


def _debit_fund(session: Session, amount: Decimal) -> bool:
    result = session.execute(
        update(Fund).where(Fund.id == FUND_ID, Fund.balance >= amount).values(balance=Fund.balance - amount)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _credit_fund(session: Session, amount: Decimal) -> None:
    session.execute(update(Fund).where(Fund.id == FUND_ID).values(balance=Fund.balance + amount)
                    .execution_options(synchronize_session=False))


def _post(session: Session, ref: str, kind: str, amount: Decimal, other: LedgerAccount, memo: str | None, actor,
          now: datetime) -> LedgerTxn:
    """One balanced transaction between fund_cash and `other`: contributions debit fund_cash, payments credit it."""
    txn = LedgerTxn(ref=ref, kind=kind, memo=memo, amount=amount, created_by_id=getattr(actor, "id", None),
                    created_at=now)
    sign = Decimal(1) if other is LedgerAccount.FUND_CONTRIBUTIONS else Decimal(-1)
    txn.lines = [LedgerLine(account=LedgerAccount.FUND_CASH, amount=sign * amount),
                 LedgerLine(account=other, amount=-sign * amount)]
    session.add(txn)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("This payment was already recorded.") from exc
    return txn


def fund_balance(session: Session) -> Decimal:
    """The fund's balance, read only: zero while no fund row exists (set-up opens it)."""
    fund = session.get(Fund, FUND_ID)
    return ZERO if fund is None else money(fund.balance)


def account_balance(session: Session, account: LedgerAccount) -> Decimal:

    total = session.scalar(select(func.coalesce(func.sum(LedgerLine.amount), 0)).where(LedgerLine.account == account))
    return money(Decimal(total))


def contribute(session: Session, staff, amount, now: datetime, memo: str | None = None) -> LedgerTxn:
    """Staff top up the fund; waiting claims are then paid in order."""
    require(staff, Role.STAFF)
    amount = money(as_decimal(amount, "amount"))
    if amount <= 0:
        raise InvalidInput("A contribution must be positive.")
    ensure_fund(session, now)
    fund = lock_row(session, Fund, FUND_ID)  # two top-ups at once: each judges the balance the other committed
    if fund.balance + amount > MONEY_COLUMN_MAX:
        raise InvalidInput("The fund balance cannot exceed %(max)s.", max=MONEY_COLUMN_MAX)
    _credit_fund(session, amount)
    txn = _post(session, f"contribution:{uuid.uuid4().hex}", "contribution", amount, LedgerAccount.FUND_CONTRIBUTIONS,
                memo or "Top-up", staff, now)
    record(session, actor=staff, action="fund.contribution", entity_type="fund", entity_id=FUND_ID, now=now,
           after={"amount": amount, "memo": memo})
    pay_queue(session, now)
    return txn


def running_balances(session: Session, txn_ids: list[int]) -> dict[int, Decimal]:
    """The fund's cash balance right after each of the given ledger transactions (for the ledger page)."""

    wanted, total, result = set(txn_ids), ZERO, {}
    rows = session.execute(select(LedgerLine.txn_id, func.sum(LedgerLine.amount))
                           .where(LedgerLine.account == LedgerAccount.FUND_CASH)
                           .group_by(LedgerLine.txn_id).order_by(LedgerLine.txn_id))
    for txn_id, amount in rows:
        total += Decimal(amount)
        if txn_id in wanted:
            result[txn_id] = money(total)
    return result


def pay_subsidy(session: Session, staff, loan_id: int, now: datetime) -> LedgerTxn:
    """Pay a loan's guarantee/insurance premium subsidy (credit enhancement: first in the spending order).
    Idempotent: a second call returns the same transaction. Refused (409) when the fund is short."""
    require(staff, Role.STAFF)
    loan = get_loan(session, loan_id)
    if loan.status in (LoanStatus.PENDING, LoanStatus.DECLINED):
        raise Conflict("This loan has not taken effect: the enterprise has not confirmed it.")
    ref = f"subsidy:loan:{loan.id}"
    existing = session.scalar(select(LedgerTxn).where(LedgerTxn.ref == ref))
    if existing is not None:
        return existing
    amount = money(loan.premium_subsidy)
    if amount <= 0:
        raise InvalidInput("This loan has no premium subsidy.")
    ensure_fund(session, now)
    if not _debit_fund(session, amount):
        raise Conflict("The fund balance is too low for this payment.")
    txn = _post(session, ref, "subsidy", amount, LedgerAccount.SUBSIDIES_PAID,
                f"Premium subsidy for loan {loan.id}", staff, now)
    record(session, actor=staff, action="fund.subsidy", entity_type="loan", entity_id=loan.id, now=now,
           after={"amount": amount})
    return txn
