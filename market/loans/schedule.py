"""Loan arithmetic, pure: the repayment schedule, what is outstanding and overdue on a day, and who would carry a
loss of the outstanding principal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from market.dates import add_months
from market.loans.models import Loan, LoanStatus, RepaymentMethod
from market.loans.regional import loan_split
from market.policy.rules import ZERO, money

ENDED_STATUSES = (LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF)  # a defaulted loan after its claim is final


@dataclass(frozen=True)
class Installment:
    seq: int
    due_on: date
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def schedule(principal: Decimal, annual_rate: Decimal, term_months: int, signed_on: date,
             method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL) -> list[Installment]:
    """Monthly schedule. Equal principal (等额本金): principal/term each month, the last takes the rounding rest;
    bullet: monthly interest, principal at maturity. Interest = outstanding × rate / 12, to the cent, half up."""
    principal = money(principal)
    monthly_rate = Decimal(annual_rate) / 12
    items = []
    outstanding = principal
    part = money(principal / term_months)
    for k in range(1, term_months + 1):
        if method is RepaymentMethod.BULLET:
            pay = principal if k == term_months else ZERO
        else:
            pay = outstanding if k == term_months else part
        items.append(Installment(k, add_months(signed_on, k), pay, money(outstanding * monthly_rate)))
        outstanding -= pay
    return items


def repaid_principal(loan: Loan) -> Decimal:
    return sum((Decimal(r.principal) for r in loan.repayments), ZERO)


def outstanding_principal(loan: Loan) -> Decimal:
    return money(Decimal(loan.principal) - repaid_principal(loan))


def loan_schedule(loan: Loan) -> list[Installment]:
    return schedule(loan.principal, loan.annual_rate, loan.term_months, loan.signed_on, loan.repayment_method)


def amount_overdue(loan: Loan, today: date) -> Decimal:
    """What should have been paid before `today` (principal + interest) and was not; nothing once the loan ended
    (closed after its recovery, or written off)."""
    if loan.status in ENDED_STATUSES:
        return ZERO
    due = sum((i.total for i in loan_schedule(loan) if i.due_on < today), ZERO)
    paid = sum((Decimal(r.principal) + Decimal(r.interest) for r in loan.repayments if r.paid_on <= today), ZERO)
    return max(money(due - paid), ZERO)


def loan_shares(loan: Loan) -> dict[str, Decimal]:
    """Who would carry a loss of the whole outstanding principal under the loan's model (`regional.loan_split`):
    tangible collateral, guarantor, counter-guarantor, insurer, the fund (government) its compensation of the bank's
    remaining loss (0 when not eligible), the bank the rest."""
    split = loan_split(loan, outstanding_principal(loan))
    return {"loss": split.loss, "collateral": split.collateral, "guarantor": split.guarantor,
            "counter_guarantor": split.counter_guarantor, "insurer": split.insurer, "government": split.government,
            "bank": split.bank}


def is_overdue(loan: Loan, today: date) -> bool:
    return amount_overdue(loan, today) > 0


@dataclass(frozen=True)
class InstalmentState:
    """One instalment of the schedule as of a day: what was due, how much of it is paid, whether it is overdue."""

    seq: int
    due_on: date
    principal: Decimal
    interest: Decimal
    total: Decimal
    paid: Decimal
    outstanding: Decimal
    overdue: bool


def instalment_states(loan: Loan, today: date) -> list[InstalmentState]:
    """The schedule with the repayments made up to `today` applied to the instalments in due order (principal and
    interest together, oldest first). An instalment due before `today` and not fully paid is overdue; the unpaid rest
    of the overdue instalments is exactly `amount_overdue(loan, today)`."""
    available = sum((Decimal(r.principal) + Decimal(r.interest) for r in loan.repayments if r.paid_on <= today),
                    ZERO)
    rows = []
    for item in loan_schedule(loan):
        paid = min(available, item.total)
        available -= paid
        rest = item.total - paid
        rows.append(InstalmentState(item.seq, item.due_on, item.principal, item.interest, item.total, paid, rest,
                                    rest > 0 and item.due_on < today))
    return rows


@dataclass(frozen=True)
class OverdueFacts:
    """What is overdue on a loan on a day, judged against the grace period of the policy it was signed under."""

    as_of: date
    grace_days: int
    oldest_due_on: date | None  # the oldest instalment not fully paid and due before `as_of`
    days_overdue: int
    amount_overdue: Decimal
    overdue_instalments: int

    @property
    def past_grace(self) -> bool:
        return self.oldest_due_on is not None and self.days_overdue > self.grace_days

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "grace_days": self.grace_days,
                "oldest_due_on": self.oldest_due_on.isoformat() if self.oldest_due_on else None,
                "days_overdue": self.days_overdue, "amount_overdue": str(self.amount_overdue),
                "overdue_instalments": self.overdue_instalments}


def overdue_facts(loan: Loan, today: date) -> OverdueFacts:
    late = [i for i in instalment_states(loan, today) if i.overdue]
    oldest = late[0].due_on if late else None
    return OverdueFacts(as_of=today, grace_days=int(loan.policy.default_grace_days), oldest_due_on=oldest,
                        days_overdue=(today - oldest).days if oldest else 0,
                        amount_overdue=sum((i.outstanding for i in late), ZERO), overdue_instalments=len(late))
