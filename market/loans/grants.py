"""The third and fourth uses of the fund (the paper: 信用增级为第一，不良补偿为第二，中介奖励为第三，企业贴息为第四):

- intermediary rewards: each guarantor and insurer that took a share of the risk of a policy-supported loan (in
  effect, its rate within the policy's cap) is rewarded once per loan with the policy's share of the principal, at
  most its cap (the paper: 加大对银行、担保机构、保险机构的奖励或补贴; the premium subsidy pays their premium,
  the reward pays their taking part);
- enterprise interest subsidy: the enterprise of a policy-supported loan that performs (in effect, never in default)
  is refunded the policy's share of the interest it actually paid, at most the cap per loan; staff grant it as
  interest is paid, each grant covering the interest paid since the one before.

Both values come from the version the loan was signed under. A grant waits for the fund behind every claim
(`market.loans.fund.pay_queue`). The loan's row lock serialises grants for one loan; the unique `ref` keeps a
reward or a subsidy instalment from being granted twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.audit.service import record, snapshot
from market.db import MAX_ID, insert_unique, lock_row
from market.errors import Conflict, NotFound
from market.loans.fund import pay_queue
from market.loans.models import FundGrant, GrantKind, GrantStatus, Loan, LoanStatus, Repayment
from market.policy.rules import ZERO, interest_subsidy, intermediary_reward, money
from market.security import require

GRANT_FIELDS = ["ref", "kind", "loan_id", "org_id", "basis", "amount", "status"]
NOT_IN_EFFECT = (LoanStatus.PENDING, LoanStatus.DECLINED)
PERFORMING = (LoanStatus.ACTIVE, LoanStatus.OVERDUE, LoanStatus.REPAID, LoanStatus.CLOSED)


def _supported_loan(session: Session, loan_id: int) -> Loan:
    """The loan under its row lock, in effect and within its policy's rate cap, else a refusal saying why."""
    loan = lock_row(session, Loan, loan_id) if 1 <= loan_id <= MAX_ID else None
    if loan is None:
        raise NotFound("This loan does not exist.")
    if loan.status in NOT_IN_EFFECT:
        raise Conflict("This loan has not taken effect: the enterprise has not confirmed it.")
    if not loan.rate_within_cap:
        raise Conflict("The loan's rate is above its policy's cap: the fund does not support it.")
    return loan


def _grant(session: Session, staff, loan: Loan, kind: GrantKind, ref: str, org_id: int, basis: Decimal,
           amount: Decimal, now: datetime) -> FundGrant:
    grant = FundGrant(ref=ref, kind=kind, loan_id=loan.id, org_id=org_id, policy_id=loan.policy_id, basis=basis,
                      amount=amount, status=GrantStatus.WAITING, granted_by_id=staff.id, created_at=now)
    insert_unique(session, grant, Conflict("This grant was already made."))
    record(session, actor=staff, action=f"fund_grant.{kind.value}", entity_type="fund_grant", entity_id=grant.id,
           now=now, after=snapshot(grant, GRANT_FIELDS))
    return grant


def grant_intermediary_rewards(session: Session, staff, loan_id: int, now: datetime) -> list[FundGrant]:
    """Reward the loan's guarantor and insurer (those with a share of its risk) once each; a reward already granted
    is kept, not granted again. Then the fund pays what it can, in order. Returns the loan's reward grants."""
    require(staff, Role.STAFF)
    loan = _supported_loan(session, loan_id)
    served = [org_id for org_id, coverage in ((loan.guarantor_org_id, loan.guarantee_coverage),
                                             (loan.insurer_org_id, loan.insurance_coverage))
              if org_id is not None and Decimal(coverage or 0) > 0]
    if not served:
        raise Conflict("No guarantor or insurer took a share of this loan's risk: there is nobody to reward.")
    amount = intermediary_reward(loan.policy, loan.principal)
    if amount <= 0:
        raise Conflict("The loan's policy gives no intermediary reward.")
    have = set(session.scalars(select(FundGrant.org_id).where(FundGrant.loan_id == loan.id,
                                                              FundGrant.kind == GrantKind.INTERMEDIARY_REWARD)))
    for org_id in served:
        if org_id not in have:
            _grant(session, staff, loan, GrantKind.INTERMEDIARY_REWARD, f"reward:loan:{loan.id}:org:{org_id}",
                   org_id, money(loan.principal), amount, now)
    pay_queue(session, now)
    return grants_of(session, loan.id, GrantKind.INTERMEDIARY_REWARD)


def interest_paid(session: Session, loan_id: int) -> Decimal:
    total = session.scalar(select(func.coalesce(func.sum(Repayment.interest), 0)).where(Repayment.loan_id == loan_id))
    return money(Decimal(total))


def grant_interest_subsidy(session: Session, staff, loan_id: int, now: datetime) -> FundGrant:
    """Grant the enterprise the interest subsidy owed on the interest it paid so far (less what earlier grants
    covered); 409 when nothing new is owed or the loan went into default. Then the fund pays what it can."""
    require(staff, Role.STAFF)
    loan = _supported_loan(session, loan_id)
    if loan.status not in PERFORMING or loan.defaulted_on is not None:
        raise Conflict("A loan that went into default gets no interest subsidy.")
    earlier = grants_of(session, loan.id, GrantKind.INTEREST_SUBSIDY)
    paid = interest_paid(session, loan.id)
    amount = interest_subsidy(loan.policy, paid, sum((g.amount for g in earlier), ZERO))
    if amount <= 0:
        raise Conflict("No new interest subsidy is owed on this loan (no interest paid since the last grant, or "
                       "its cap is reached).")
    grant = _grant(session, staff, loan, GrantKind.INTEREST_SUBSIDY, f"interest:loan:{loan.id}:{len(earlier) + 1}",
                   loan.enterprise_org_id, paid, amount, now)
    pay_queue(session, now)
    return grant


def grants_of(session: Session, loan_id: int, kind: GrantKind | None = None) -> list[FundGrant]:
    query = select(FundGrant).where(FundGrant.loan_id == loan_id).order_by(FundGrant.id)
    if kind is not None:
        query = query.where(FundGrant.kind == kind)
    return list(session.scalars(query))


def all_grants(session: Session, limit: int = 200) -> list[FundGrant]:
    return list(session.scalars(select(FundGrant).order_by(FundGrant.id.desc()).limit(limit)))
