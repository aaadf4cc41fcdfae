"""The state machines of loans and compensation claims: every status change of either goes through `LOAN.move` or
`CLAIM.move` (check the transition, snapshot, set, flush, audit as `loan.<status>` / `claim.<status>` unless the
move names its action)."""

from __future__ import annotations

from market.loans.models import CompensationStatus, GrantStatus, LoanStatus
from market.states import StateMachine

LOAN_FIELDS = ["status", "principal", "annual_rate", "consent", "defaulted_on", "default_basis", "default_reason",
               "default_facts", "closed_at"]
CLAIM_FIELDS = ["status", "compensation", "approved_at", "paid_at", "decision_reason"]

LOAN = StateMachine("loan", {
    LoanStatus.PENDING: {LoanStatus.ACTIVE, LoanStatus.DECLINED},
    LoanStatus.ACTIVE: {LoanStatus.OVERDUE, LoanStatus.REPAID, LoanStatus.DEFAULTED},
    LoanStatus.OVERDUE: {LoanStatus.ACTIVE, LoanStatus.REPAID, LoanStatus.DEFAULTED},
    LoanStatus.DEFAULTED: {LoanStatus.IN_DISPOSAL, LoanStatus.WRITTEN_OFF, LoanStatus.CLOSED},
    LoanStatus.IN_DISPOSAL: {LoanStatus.WRITTEN_OFF, LoanStatus.CLOSED},
    LoanStatus.REPAID: {LoanStatus.CLOSED},
    LoanStatus.WRITTEN_OFF: {LoanStatus.CLOSED},
}, fields=LOAN_FIELDS)

# A claim is assembled `submitted` (or `not_covered` when there is nothing to pay, which is final).
CLAIM = StateMachine("claim", {
    CompensationStatus.SUBMITTED: {CompensationStatus.APPROVED, CompensationStatus.REJECTED},
    CompensationStatus.APPROVED: {CompensationStatus.PAID},
}, fields=CLAIM_FIELDS)
# An intermediary reward or interest subsidy waits for the fund, then is paid (audit: fund_grant.paid).
GRANT = StateMachine("grant", {GrantStatus.WAITING: {GrantStatus.PAID}}, entity_type="fund_grant",
                     fields=["status", "amount", "paid_at"])
