"""Bodies of the loans API: what comes in (bounded amounts and rates, market.bounded) and what goes out, dumped from
the objects themselves (loans, claims, ledger transactions, rates, policies, plan results).

Money and rates go out one way: `money_out`, a decimal string such as "1500000.00". A figure the object does not hold
as an attribute (a loan's outstanding principal, a claim's checklist) is a `derived` field: its type, and so the
OpenAPI document, are the field's own; its value is computed from the object."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import object_session

from market.api.fields import UtcDateTime, bounded, derived, row_id
from market.api.pages import items_of
from market.bounded import AMOUNT, AMOUNT_OR_ZERO, ANNUAL_RATE, RATE_CAP_RATIO, REFERENCE_RATE, SHARE
from market.errors import DomainError
from market.loans.claims import claim_checklist
from market.loans.model_schemas import ModelIn, ModelOut, model_choice
from market.loans.models import RepaymentMethod
from market.loans.regional import eligibility_reasons
from market.loans.schedule import loan_schedule, loan_shares, outstanding_principal
from market.policy.kinds import IpKind
from market.policy.models import RATE_KINDS, RateCapMode
from market.policy.regional import MAX_RECOMMENDATION_DAYS

REQ = {"required": True}


def money_out(**kw) -> fields.Decimal:
    """An amount (or rate) on the way out: a decimal string such as "1500000.00"."""
    return fields.Decimal(as_string=True, **kw)


def _amount(positive: bool = False, **kw):
    """An amount in yuan on the way in (market.bounded: AMOUNT when it must be positive, else AMOUNT_OR_ZERO)."""
    return bounded(AMOUNT if positive else AMOUNT_OR_ZERO, **kw)


def _share(**kw):
    """A share as a fraction in [0, 1] (0.3 = 30 %), to six places."""
    return bounded(SHARE, **kw)


def _method(**kw):
    return fields.String(validate=validate.OneOf([m.value for m in RepaymentMethod]), **kw)


def _localized(reasons) -> list[str]:
    return [r.localized() for r in reasons]


# ------------------------------------------------------------------------------------------------ plans

class PlanRequest(Schema):
    loan_amount = _amount(True, required=True)
    annual_rate = bounded(ANNUAL_RATE, required=True)
    benchmark_rate = bounded(REFERENCE_RATE, required=True)
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 360))
    guarantee_coverage = _share(load_default=0)
    guarantee_premium = _amount(load_default=0)
    insurance_coverage = _share(load_default=0)
    insurance_premium = _amount(load_default=0)
    enterprise_coverage = _share(load_default=0)
    signed_on = fields.Date(load_default=None)
    loan_model = model_choice()
    counter_guarantee_share = _share(load_default=0, metadata={
        "description": "Shanghai: the share of the guarantor's payment the counter-guarantor repays (fraction)"})
    counter_by_enterprise = fields.Boolean(load_default=False, metadata={
        "description": "Shanghai: the enterprise itself counter-guarantees (counted in its share of risk)"})
    recommended_on = fields.Date(load_default=None, metadata={
        "description": "Jiangsu: the day of the government recommendation (default the signing day)"})
    collateral_value = _amount(load_default=0, metadata={
        "description": "Tianjin: the tangible collateral's total valuation, yuan"})


def _refusal(row) -> str | None:
    return row.refusal_text()


class ModelRowOut(Schema):
    """The plan under one model, or why the model cannot take these terms."""

    loan_model = fields.String(**REQ)
    refusal = derived(fields.String(allow_none=True, **REQ), _refusal)
    eligible = derived(fields.Boolean(allow_none=True, **REQ), lambda row: row.result and row.result.eligible)
    reasons = derived(fields.List(fields.String(), **REQ),
                      lambda row: _localized(row.result.reasons) if row.result else [])
    effects = derived(fields.List(fields.String(), **REQ),
                      lambda row: _localized(row.result.effects) if row.result else [])
    compensation_on_total_loss = derived(money_out(allow_none=True, **REQ),
                                         lambda row: row.result and row.result.compensation_on_total_loss)
    enterprise_share = derived(money_out(allow_none=True, **REQ),
                               lambda row: row.result and row.result.enterprise_share)
    shares = derived(fields.Dict(keys=fields.String(), values=money_out(), allow_none=True, **REQ),
                     lambda row: row.result and row.result.shares)


class PlanOut(Schema):
    eligible = fields.Boolean(**REQ)
    reasons = derived(fields.List(fields.String(), **REQ), lambda r: _localized(r.reasons))
    reason_codes = derived(fields.List(fields.String(), **REQ), lambda r: [x.code for x in r.reasons])
    policy = fields.String(attribute="policy_code", **REQ)
    rate_cap = money_out(**REQ)
    rate_ratio = money_out(**REQ)
    premium_subsidy = money_out(**REQ)
    premium_subsidy_guarantor = money_out(**REQ)
    premium_subsidy_insurer = money_out(**REQ)
    compensation_on_total_loss = money_out(**REQ)
    shares = fields.Dict(keys=fields.String(), values=money_out(), **REQ)
    enterprise_cost = money_out(**REQ)
    enterprise_share = money_out(**REQ)
    enterprise_within_ceiling = fields.Boolean(**REQ)
    warnings = derived(fields.List(fields.String(), **REQ), lambda r: _localized(r.warnings))
    loan_model = fields.String(**REQ)
    effects = derived(fields.List(fields.String(), **REQ, metadata={
        "description": "What the loan model changes in a total loss, in words"}), lambda r: _localized(r.effects))
    models = fields.List(fields.Nested(ModelRowOut), **REQ, metadata={
        "description": "The same plan under each region's model (Chongqing, Shanghai, Jiangsu, Tianjin)"})


# ------------------------------------------------------------------------------------------------ loans

class PledgeOut(Schema):
    id = fields.Integer(**REQ)
    asset_id = fields.Integer(**REQ)
    registration_number = fields.String(**REQ)
    registered_on = fields.Date(**REQ)
    active = fields.Boolean(**REQ)


class InstalmentOut(Schema):
    seq = fields.Integer(**REQ)
    due_on = fields.Date(**REQ)
    principal = money_out(**REQ)
    interest = money_out(**REQ)


class RepaymentOut(Schema):
    id = fields.Integer(**REQ)
    paid_on = fields.Date(**REQ)
    principal = money_out(**REQ)
    interest = money_out(**REQ)
    recorded_at = UtcDateTime(attribute="created_at", **REQ)


class WatchFlagOut(Schema):
    asset_id = fields.Integer(**REQ)
    reason = fields.String(**REQ)
    raised_at = UtcDateTime(**REQ)
    resolved_at = UtcDateTime(allow_none=True, **REQ)


class LoanOut(ModelOut):
    id = fields.Integer(**REQ)
    status = fields.String(**REQ)
    bank_org_id = fields.Integer(**REQ)
    enterprise_org_id = fields.Integer(**REQ)
    principal = money_out(**REQ)
    outstanding_principal = derived(money_out(**REQ), outstanding_principal)
    annual_rate = money_out(**REQ)
    benchmark_rate = money_out(**REQ)
    rate_within_cap = fields.Boolean(**REQ)
    policy = fields.String(attribute="policy.code", **REQ)
    term_months = fields.Integer(**REQ)
    repayment_method = fields.String(**REQ)
    signed_on = fields.Date(**REQ)
    maturity = fields.Date(**REQ)
    defaulted_on = fields.Date(allow_none=True, **REQ)
    guarantor_org_id = fields.Integer(allow_none=True, **REQ)
    guarantee_coverage = money_out(**REQ)
    guarantee_premium = money_out(**REQ)
    insurer_org_id = fields.Integer(allow_none=True, **REQ)
    insurance_coverage = money_out(**REQ)
    insurance_premium = money_out(**REQ)
    premium_subsidy = money_out(**REQ)
    offer_id = fields.Integer(allow_none=True, **REQ)
    consent = fields.String(allow_none=True, **REQ, metadata={
        "description": "How the enterprise agreed: `offer` (accepted offer), `confirmed` (confirmed the loan the bank "
                       "recorded); null while the loan is `pending` (no pledge exists yet)"})
    consented_at = UtcDateTime(allow_none=True, **REQ)
    proposed_asset_ids = derived(fields.List(fields.Integer(), **REQ, metadata={
        "description": "The assets a pending loan asks the enterprise to pledge"}),
        lambda loan: list((loan.proposal or {}).get("asset_ids", [])))
    default_basis = fields.String(allow_none=True, **REQ, metadata={
        "description": "`overdue` (past the policy's grace period) or `staff` (confirmed by staff)"})
    default_reason = fields.String(allow_none=True, **REQ)
    default_facts = fields.Dict(allow_none=True, **REQ)
    default_requested_at = UtcDateTime(allow_none=True, **REQ)
    compensation_eligible = derived(fields.Boolean(**REQ, metadata={
        "description": "Whether a loss would be compensated: the rate within the cap, and the model's own rule "
                       "(Jiangsu: recommended on or before signing, within the policy's validity)"}),
        lambda loan: not eligibility_reasons(loan))
    shares_on_total_loss = derived(fields.Dict(keys=fields.String(), values=money_out(), **REQ, metadata={
        "description": "Who carries a loss of the whole outstanding principal: tangible collateral (Tianjin), "
                       "guarantor, counter-guarantor (Shanghai), insurer, government (the fund's compensation), "
                       "bank"}), loan_shares)
    pledges = fields.List(fields.Nested(PledgeOut), **REQ)


class LoanDetailOut(LoanOut):
    schedule = derived(fields.List(fields.Nested(InstalmentOut), **REQ), loan_schedule)
    repayments = fields.List(fields.Nested(RepaymentOut), **REQ)
    watch_flags = fields.List(fields.Nested(WatchFlagOut), attribute="flags", **REQ)


LoanList = items_of(LoanOut, "LoanList", **REQ)


# The terms a bank gives when it signs the loan of an accepted offer (the offer gives the rest); a loan agreed
# outside an offer (LoanCreate) names the enterprise, amount, rate, term and pledged assets as well.
class OfferLoanCreate(ModelIn):
    signed_on = fields.Date(required=True)
    registration_number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    registered_on = fields.Date(load_default=None)
    repayment_method = _method(load_default="equal_principal")
    guarantor_org_id = row_id(load_default=None)
    guarantee_coverage = _share(load_default=0)
    guarantee_premium = _amount(load_default=0)
    insurer_org_id = row_id(load_default=None)
    insurance_coverage = _share(load_default=0)
    insurance_premium = _amount(load_default=0)
    collateral_text = fields.String(load_default=None, validate=validate.Length(max=2000))


class LoanCreate(OfferLoanCreate):
    enterprise_org_id = row_id(required=True)
    principal = _amount(True, required=True)
    annual_rate = bounded(ANNUAL_RATE, required=True)
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 360))
    asset_ids = fields.List(row_id(), required=True, validate=validate.Length(min=1, max=50))


class ScheduleQuery(Schema):
    as_of = fields.Date(load_default=None, metadata={"description": "The day to judge payments by (default today)"})


class InstalmentStateOut(Schema):
    seq = fields.Integer(**REQ)
    due_on = fields.Date(**REQ)
    principal = money_out(**REQ)
    interest = money_out(**REQ)
    total = money_out(**REQ)
    paid = money_out(**REQ, metadata={"description": "Repaid by `as_of`, applied to the instalments oldest first"})
    outstanding = money_out(**REQ)
    overdue = fields.Boolean(**REQ, metadata={"description": "Due before `as_of` and not fully paid"})


class ScheduleOut(Schema):
    loan_id = fields.Integer(**REQ)
    as_of = fields.Date(**REQ)
    status = fields.String(**REQ)
    outstanding_principal = money_out(**REQ)
    amount_overdue = money_out(**REQ)
    items = fields.List(fields.Nested(InstalmentStateOut), **REQ)


class RepaymentCreate(Schema):
    paid_on = fields.Date(required=True)
    principal = _amount(load_default=0)
    interest = _amount(load_default=0)


class RepaymentList(Schema):
    loan_id = fields.Integer(attribute="id", **REQ)
    outstanding_principal = derived(money_out(**REQ), outstanding_principal)
    items = fields.List(fields.Nested(RepaymentOut), attribute="repayments", **REQ)


class ReasonRequest(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


# ------------------------------------------------------------------------------------------------ claims

class RecoveryRequest(Schema):
    recovery = _amount(required=True)
    evidence = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "What proves the recovery (court ruling, settlement, bank statement); staff verify it"})


class CheckOut(Schema):
    code = fields.String(**REQ)
    ok = fields.Boolean(**REQ)
    message = derived(fields.String(**REQ), lambda check: check.localized())


def _claim_reason(claim) -> str | None:
    return DomainError(claim.reason, **(claim.reason_params or {})).localized() if claim.reason else None


class ClaimOut(Schema):
    id = fields.Integer(**REQ)
    loan_id = fields.Integer(**REQ)
    status = fields.String(**REQ)
    outstanding_principal = money_out(**REQ)
    recovery = money_out(**REQ)
    loss = money_out(**REQ)
    collateral_share = money_out(**REQ, metadata={"description": "Covered by the tangible collateral (Tianjin)"})
    guarantor_share = money_out(**REQ, metadata={"description": "What the guarantor pays the bank"})
    counter_guarantor_share = money_out(**REQ, metadata={
        "description": "Of which the counter-guarantor repays the guarantor (Shanghai)"})
    insurer_share = money_out(**REQ)
    bank_loss = money_out(**REQ)
    compensation = money_out(**REQ)
    reason = derived(fields.String(allow_none=True, **REQ), _claim_reason)
    bank_org_id = fields.Integer(attribute="loan.bank_org_id", **REQ)
    recovery_source = fields.String(**REQ, metadata={"description": "`exchange` (settlement) or `declared`"})
    recovery_evidence = fields.String(allow_none=True, **REQ)
    evidence_verified_at = UtcDateTime(allow_none=True, **REQ)
    decision_reason = fields.String(allow_none=True, **REQ)
    checklist = derived(fields.List(fields.Nested(CheckOut), **REQ, metadata={
        "description": "The facts staff check; approval is refused while one is not ok"}),
        lambda claim: claim_checklist(object_session(claim), claim))
    created_at = UtcDateTime(**REQ)
    approved_at = UtcDateTime(allow_none=True, **REQ)
    paid_at = UtcDateTime(allow_none=True, **REQ)


ClaimList = items_of(ClaimOut, "ClaimList", **REQ)


# ------------------------------------------------------------------------------------------------ fund

class FundOut(Schema):
    balance = money_out(**REQ)
    waiting_claims = fields.Integer(**REQ)
    waiting_amount = money_out(**REQ)
    accounts = fields.Dict(keys=fields.String(), values=money_out(),
                           metadata={"description": "Ledger account balances (staff only)"})


class LedgerLineOut(Schema):
    account = fields.String(**REQ)
    amount = money_out(**REQ, metadata={"description": "Debit positive, credit negative"})


class LedgerTxnOut(Schema):
    id = fields.Integer(**REQ)
    ref = fields.String(**REQ)
    kind = fields.String(**REQ)
    memo = fields.String(allow_none=True, **REQ)
    amount = money_out(**REQ)
    created_at = UtcDateTime(**REQ)
    lines = fields.List(fields.Nested(LedgerLineOut), **REQ)


LedgerTxnList = items_of(LedgerTxnOut, "LedgerTxnList", **REQ)


class ContributionRequest(Schema):
    amount = _amount(True, required=True)
    memo = fields.String(load_default=None, validate=validate.Length(max=300))


class ContributionOut(Schema):
    balance = money_out(**REQ)
    transaction = fields.Nested(LedgerTxnOut, **REQ)


# ------------------------------------------------------------------------------------------------ rates and policies

def _recent_day(value) -> None:
    if not 1990 <= value.year < 2200:
        raise ValidationError("Give a date between the years 1990 and 2199.")


class RateOut(Schema):
    id = fields.Integer(**REQ)
    kind = fields.String(**REQ)
    effective_on = fields.Date(**REQ)
    rate = money_out(**REQ)
    source = fields.String(allow_none=True, **REQ)


class RateQuery(Schema):
    on = fields.Date(load_default=None, validate=_recent_day,
                     metadata={"description": "The day whose rates in force are given (default today)"})


class RateTable(Schema):
    on = fields.Date(**REQ)
    in_force = fields.Dict(keys=fields.String(), values=money_out(), **REQ)
    items = fields.List(fields.Nested(RateOut), **REQ)


class RateIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(RATE_KINDS))
    effective_on = fields.Date(required=True, validate=_recent_day)
    rate = bounded(REFERENCE_RATE, required=True)
    source = fields.String(load_default=None, validate=validate.Length(max=200))


class PolicyOut(Schema):
    id = fields.Integer(**REQ)
    code = fields.String(**REQ)
    name = fields.String(**REQ)
    effective_from = fields.Date(**REQ)
    effective_to = fields.Date(allow_none=True, **REQ)
    eligible_kinds = fields.List(fields.String(), **REQ)
    rate_cap_mode = fields.String(**REQ)
    rate_cap_ratio = money_out(**REQ)
    rate_cap_spread_bp = fields.Integer(allow_none=True, **REQ)
    premium_subsidy_rate = money_out(**REQ)
    compensation_rate = money_out(**REQ)
    compensation_cap = money_out(**REQ)
    enterprise_risk_ceiling = money_out(**REQ)
    default_grace_days = fields.Integer(**REQ, metadata={
        "description": "Days an instalment may be overdue before the bank may declare default on its own"})
    spending_order = derived(fields.List(fields.String(), **REQ), lambda p: list(p.spending_order or []))
    intermediary_reward_rate = money_out(**REQ)
    intermediary_reward_cap = money_out(**REQ)
    interest_subsidy_rate = money_out(**REQ)
    interest_subsidy_cap = money_out(**REQ)
    recommendation_valid_days = fields.Integer(**REQ)
    source = fields.String(allow_none=True, **REQ)


class PolicyList(Schema):
    in_force = fields.Nested(PolicyOut, **REQ)
    items = fields.List(fields.Nested(PolicyOut), **REQ)


class PolicyIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    effective_from = fields.Date(required=True, validate=_recent_day)
    eligible_kinds = fields.List(fields.String(validate=validate.OneOf([k.value for k in IpKind])), required=True,
                                 validate=validate.Length(min=1, max=len(IpKind)))
    rate_cap_mode = fields.String(required=True, validate=validate.OneOf([m.value for m in RateCapMode]))
    rate_cap_ratio = bounded(RATE_CAP_RATIO, load_default=None, allow_none=True)
    rate_cap_spread_bp = fields.Integer(load_default=None, strict=True, validate=validate.Range(0, 2000))
    premium_subsidy_rate = _share(required=True)
    compensation_rate = _share(required=True)
    compensation_cap = _amount(required=True)
    enterprise_risk_ceiling = _share(required=True)
    default_grace_days = fields.Integer(load_default=90, strict=True, validate=validate.Range(0, 365))
    # Left out (or null): carried over from the version in force.
    intermediary_reward_rate = _share(load_default=None, allow_none=True, metadata={
        "description": "Intermediary reward, a fraction of the principal (0.002 = 0.2 %)"})
    intermediary_reward_cap = _amount(load_default=None, allow_none=True, metadata={
        "description": "Intermediary reward cap per intermediary and loan, yuan"})
    interest_subsidy_rate = _share(load_default=None, allow_none=True, metadata={
        "description": "Enterprise interest subsidy, a fraction of the interest paid (0.3 = 30 %)"})
    interest_subsidy_cap = _amount(load_default=None, allow_none=True, metadata={
        "description": "Enterprise interest subsidy cap per loan, yuan"})
    recommendation_valid_days = fields.Integer(load_default=None, allow_none=True, strict=True,
                                               validate=validate.Range(0, MAX_RECOMMENDATION_DAYS), metadata={
        "description": "Days a government recommendation stays valid for relationship lending (Jiangsu)"})
    source = fields.String(load_default=None, validate=validate.Length(max=300))
