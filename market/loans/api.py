"""JSON API of loans: the plan calculator (public), loans, schedules, repayments, default, claims and the fund.

Every operation documents its success body with a schema: money and rates travel as decimal strings, dates as ISO
8601 days, times as RFC 3339 date-times in UTC. Refusals are the services' domain errors (nothing is kept then)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from market.accounts.models import Role
from market.api.auth import api_user
from market.api.fields import UtcDateTime, bounded, row_id
from market.bounded import AMOUNT, AMOUNT_OR_ZERO, ANNUAL_RATE, RATE_CAP_RATIO, REFERENCE_RATE, SHARE
from market.db import db, utcnow
from market.errors import DomainError
from market.loans.access import LOAN_READERS, get_loan, loan_for, visible_loans
from market.loans.claims import (
    approve_claim,
    claim_checklist,
    claim_for,
    record_recovery,
    reject_claim,
    verify_recovery,
    visible_claims,
)
from market.loans.default import confirm_default, declare_default, refuse_default, request_default
from market.loans.fund import account_balance, contribute, fund_balance, pay_subsidy, waiting_claims
from market.loans.models import CompensationClaim, LedgerAccount, LedgerTxn, Loan, RepaymentMethod
from market.loans.repayments import record_repayment
from market.loans.schedule import amount_overdue, instalment_states, loan_schedule, loan_shares, outstanding_principal
from market.loans.signing import confirm_loan, decline_loan, sign_loan, sign_loan_from_offer
from market.needs.indexing import quick_drain
from market.policy.kinds import IpKind
from market.policy.models import RATE_KINDS, RateCapMode
from market.policy.plan import evaluate_plan
from market.policy.rules import ZERO
from market.policy.service import add_policy, add_rate, policy_in_force, policy_versions, rate_on, rate_table
from market.work import commit_or_rollback as _act

blp = Blueprint("loans_api", __name__, url_prefix="/api/v1", description="Financing plans, loans, claims, fund")

REQ = {"required": True}




def _amount(positive: bool = False, **kw):
    """An amount in yuan on the way in (market.bounded: AMOUNT when it must be positive, else AMOUNT_OR_ZERO)."""
    return bounded(AMOUNT if positive else AMOUNT_OR_ZERO, **kw)


def _share(**kw):
    """A share as a fraction in [0, 1] (0.3 = 30 %), to six places."""
    return bounded(SHARE, **kw)


def _money(**kw):
    """An amount (or rate) on the way out: a decimal string such as "1500000.00"."""
    return fields.Decimal(as_string=True, **kw)


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


class PlanOut(Schema):
    eligible = fields.Boolean(**REQ)
    reasons = fields.List(fields.String(), **REQ)
    reason_codes = fields.List(fields.String(), **REQ)
    policy = fields.String(**REQ)
    rate_cap = _money(**REQ)
    rate_ratio = _money(**REQ)
    premium_subsidy = _money(**REQ)
    premium_subsidy_guarantor = _money(**REQ)
    premium_subsidy_insurer = _money(**REQ)
    compensation_on_total_loss = _money(**REQ)
    shares = fields.Dict(keys=fields.String(), values=_money(), **REQ)
    enterprise_cost = _money(**REQ)
    enterprise_share = _money(**REQ)
    enterprise_within_ceiling = fields.Boolean(**REQ)
    warnings = fields.List(fields.String(), **REQ)


def plan_json(result) -> dict:
    return {
        "eligible": result.eligible,
        "reasons": [r.localized() for r in result.reasons],
        "reason_codes": [r.code for r in result.reasons],
        "policy": result.policy_code,
        "rate_cap": result.rate_cap,
        "rate_ratio": result.rate_ratio,
        "premium_subsidy": result.premium_subsidy,
        "premium_subsidy_guarantor": result.premium_subsidy_guarantor,
        "premium_subsidy_insurer": result.premium_subsidy_insurer,
        "compensation_on_total_loss": result.compensation_on_total_loss,
        "shares": dict(result.shares),
        "enterprise_cost": result.enterprise_cost,
        "enterprise_share": result.enterprise_share,
        "enterprise_within_ceiling": result.enterprise_within_ceiling,
        "warnings": [w.localized() for w in result.warnings],
    }


@blp.route("/plans/evaluate")
class PlanEvaluate(MethodView):
    @blp.arguments(PlanRequest)
    @blp.response(200, PlanOut)
    def post(self, data):
        """Evaluate a financing plan against the policy in force (today, or on `signed_on`). Public."""
        on = data.pop("signed_on") or utcnow().date()
        policy = policy_in_force(db.session, on)
        return plan_json(evaluate_plan(policy, **data))


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
    principal = _money(**REQ)
    interest = _money(**REQ)


class RepaymentOut(Schema):
    id = fields.Integer(**REQ)
    paid_on = fields.Date(**REQ)
    principal = _money(**REQ)
    interest = _money(**REQ)
    recorded_at = UtcDateTime(**REQ)


class WatchFlagOut(Schema):
    asset_id = fields.Integer(**REQ)
    reason = fields.String(**REQ)
    raised_at = UtcDateTime(**REQ)
    resolved_at = UtcDateTime(allow_none=True, **REQ)


class LoanOut(Schema):
    id = fields.Integer(**REQ)
    status = fields.String(**REQ)
    bank_org_id = fields.Integer(**REQ)
    enterprise_org_id = fields.Integer(**REQ)
    principal = _money(**REQ)
    outstanding_principal = _money(**REQ)
    annual_rate = _money(**REQ)
    benchmark_rate = _money(**REQ)
    rate_within_cap = fields.Boolean(**REQ)
    policy = fields.String(**REQ)
    term_months = fields.Integer(**REQ)
    repayment_method = fields.String(**REQ)
    signed_on = fields.Date(**REQ)
    maturity = fields.Date(**REQ)
    defaulted_on = fields.Date(allow_none=True, **REQ)
    guarantor_org_id = fields.Integer(allow_none=True, **REQ)
    guarantee_coverage = _money(**REQ)
    guarantee_premium = _money(**REQ)
    insurer_org_id = fields.Integer(allow_none=True, **REQ)
    insurance_coverage = _money(**REQ)
    insurance_premium = _money(**REQ)
    premium_subsidy = _money(**REQ)
    offer_id = fields.Integer(allow_none=True, **REQ)
    consent = fields.String(allow_none=True, **REQ, metadata={
        "description": "How the enterprise agreed: `offer` (accepted offer), `confirmed` (confirmed the loan the bank "
                       "recorded); null while the loan is `pending` (no pledge exists yet)"})
    consented_at = UtcDateTime(allow_none=True, **REQ)
    proposed_asset_ids = fields.List(fields.Integer(), **REQ, metadata={
        "description": "The assets a pending loan asks the enterprise to pledge"})
    default_basis = fields.String(allow_none=True, **REQ, metadata={
        "description": "`overdue` (past the policy's grace period) or `staff` (confirmed by staff)"})
    default_reason = fields.String(allow_none=True, **REQ)
    default_facts = fields.Dict(allow_none=True, **REQ)
    default_requested_at = UtcDateTime(allow_none=True, **REQ)
    shares_on_total_loss = fields.Dict(keys=fields.String(), values=_money(), **REQ, metadata={
        "description": "Who carries a loss of the whole outstanding principal: guarantor, insurer, government "
                       "(the fund's compensation), bank"})
    pledges = fields.List(fields.Nested(PledgeOut), **REQ)


class LoanDetailOut(LoanOut):
    schedule = fields.List(fields.Nested(InstalmentOut), **REQ)
    repayments = fields.List(fields.Nested(RepaymentOut), **REQ)
    watch_flags = fields.List(fields.Nested(WatchFlagOut), **REQ)


class LoanList(Schema):
    items = fields.List(fields.Nested(LoanOut), **REQ)


def repayment_json(r) -> dict:
    return {"id": r.id, "paid_on": r.paid_on, "principal": r.principal, "interest": r.interest,
            "recorded_at": r.created_at}


def loan_json(loan: Loan, detail: bool = False) -> dict:
    body = {
        "id": loan.id, "status": loan.status.value, "bank_org_id": loan.bank_org_id,
        "enterprise_org_id": loan.enterprise_org_id, "principal": loan.principal,
        "outstanding_principal": outstanding_principal(loan), "annual_rate": loan.annual_rate,
        "benchmark_rate": loan.benchmark_rate, "rate_within_cap": loan.rate_within_cap,
        "policy": loan.policy.code, "term_months": loan.term_months, "repayment_method": loan.repayment_method.value,
        "signed_on": loan.signed_on, "maturity": loan.maturity, "defaulted_on": loan.defaulted_on,
        "guarantor_org_id": loan.guarantor_org_id, "guarantee_coverage": loan.guarantee_coverage,
        "guarantee_premium": loan.guarantee_premium, "insurer_org_id": loan.insurer_org_id,
        "insurance_coverage": loan.insurance_coverage, "insurance_premium": loan.insurance_premium,
        "premium_subsidy": loan.premium_subsidy, "offer_id": loan.offer_id,
        "consent": loan.consent.value if loan.consent else None, "consented_at": loan.consented_at,
        "proposed_asset_ids": list((loan.proposal or {}).get("asset_ids", [])),
        "default_basis": loan.default_basis.value if loan.default_basis else None,
        "default_reason": loan.default_reason, "default_facts": loan.default_facts,
        "default_requested_at": loan.default_requested_at,
        "shares_on_total_loss": loan_shares(loan),
        "pledges": [{"id": p.id, "asset_id": p.asset_id, "registration_number": p.registration_number,
                     "registered_on": p.registered_on, "active": p.active} for p in loan.pledges],
    }
    if detail:
        body["schedule"] = [{"seq": i.seq, "due_on": i.due_on, "principal": i.principal, "interest": i.interest}
                            for i in loan_schedule(loan)]
        body["repayments"] = [repayment_json(r) for r in loan.repayments]
        body["watch_flags"] = [{"asset_id": f.asset_id, "reason": f.reason, "raised_at": f.raised_at,
                                "resolved_at": f.resolved_at} for f in loan.flags]
    return body


class LoanCreate(Schema):
    enterprise_org_id = row_id(required=True)
    principal = _amount(True, required=True)
    annual_rate = bounded(ANNUAL_RATE, required=True)
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 360))
    asset_ids = fields.List(row_id(), required=True, validate=validate.Length(min=1, max=50))
    signed_on = fields.Date(required=True)
    registration_number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    registered_on = fields.Date(load_default=None)
    repayment_method = fields.String(load_default="equal_principal",
                                     validate=validate.OneOf([m.value for m in RepaymentMethod]))
    guarantor_org_id = row_id(load_default=None)
    guarantee_coverage = _share(load_default=0)
    guarantee_premium = _amount(load_default=0)
    insurer_org_id = row_id(load_default=None)
    insurance_coverage = _share(load_default=0)
    insurance_premium = _amount(load_default=0)
    collateral_text = fields.String(load_default=None, validate=validate.Length(max=2000))


@blp.route("/loans")
class Loans(MethodView):
    @blp.response(200, LoanList)
    @blp.doc(security=[{"bearer": []}])
    @api_user(*LOAN_READERS)
    def get(self, actor):
        """Loans of the caller's organisation (as bank, enterprise, guarantor or insurer); all loans for staff."""
        return {"items": [loan_json(loan) for loan in db.session.scalars(visible_loans(actor).limit(500))]}

    @blp.arguments(LoanCreate)
    @blp.response(201, LoanDetailOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, data, actor):
        """Record a loan agreed outside an offer. It is `pending`: no asset is pledged until the enterprise confirms
        it (`POST /loans/{id}/confirm`)."""
        data["repayment_method"] = RepaymentMethod(data["repayment_method"])
        loan = _act(lambda: sign_loan(db.session, actor, now=utcnow(), **data))
        return loan_json(loan, detail=True)


class OfferLoanCreate(Schema):
    signed_on = fields.Date(required=True)
    registration_number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    registered_on = fields.Date(load_default=None)
    repayment_method = fields.String(load_default="equal_principal",
                                     validate=validate.OneOf([m.value for m in RepaymentMethod]))
    guarantor_org_id = row_id(load_default=None)
    guarantee_coverage = _share(load_default=0)
    guarantee_premium = _amount(load_default=0)
    insurer_org_id = row_id(load_default=None)
    insurance_coverage = _share(load_default=0)
    insurance_premium = _amount(load_default=0)
    collateral_text = fields.String(load_default=None, validate=validate.Length(max=2000))


@blp.route("/offers/<int:offer_id>/loan")
class OfferLoan(MethodView):
    @blp.arguments(OfferLoanCreate)
    @blp.response(201, LoanDetailOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, data, offer_id, actor):
        """Sign the loan of an offer the enterprise accepted: principal, rate and term from the offer, pledges on the
        need's assets; the need becomes funded. 409 when the offer is not accepted, already signed, or an asset is no
        longer free (nothing is written then)."""
        data["repayment_method"] = RepaymentMethod(data["repayment_method"])
        loan = _act(lambda: sign_loan_from_offer(db.session, actor, offer_id, now=utcnow(), **data))
        quick_drain()
        return loan_json(get_loan(db.session, loan.id), detail=True)


@blp.route("/loans/<int:loan_id>")
class LoanItem(MethodView):
    @blp.response(200, LoanDetailOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(*LOAN_READERS)
    def get(self, loan_id, actor):
        """One loan with its schedule, repayments and watch flags (its bank, enterprise, guarantor, insurer, staff)."""
        return loan_json(loan_for(db.session, actor, loan_id), detail=True)


class ScheduleQuery(Schema):
    as_of = fields.Date(load_default=None, metadata={"description": "The day to judge payments by (default today)"})


class InstalmentStateOut(Schema):
    seq = fields.Integer(**REQ)
    due_on = fields.Date(**REQ)
    principal = _money(**REQ)
    interest = _money(**REQ)
    total = _money(**REQ)
    paid = _money(**REQ, metadata={"description": "Repaid by `as_of`, applied to the instalments oldest first"})
    outstanding = _money(**REQ)
    overdue = fields.Boolean(**REQ, metadata={"description": "Due before `as_of` and not fully paid"})


class ScheduleOut(Schema):
    loan_id = fields.Integer(**REQ)
    as_of = fields.Date(**REQ)
    status = fields.String(**REQ)
    outstanding_principal = _money(**REQ)
    amount_overdue = _money(**REQ)
    items = fields.List(fields.Nested(InstalmentStateOut), **REQ)


@blp.route("/loans/<int:loan_id>/schedule")
class LoanSchedule(MethodView):
    @blp.arguments(ScheduleQuery, location="query")
    @blp.response(200, ScheduleOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(*LOAN_READERS)
    def get(self, args, loan_id, actor):
        """The repayment schedule as of a day: each instalment's due date, principal, interest, what is paid of it
        and whether it is overdue."""
        loan = loan_for(db.session, actor, loan_id)
        today = args["as_of"] or utcnow().date()
        return {"loan_id": loan.id, "as_of": today, "status": loan.status.value,
                "outstanding_principal": outstanding_principal(loan),
                "amount_overdue": amount_overdue(loan, today),
                "items": [vars(row) for row in instalment_states(loan, today)]}


class RepaymentCreate(Schema):
    paid_on = fields.Date(required=True)
    principal = _amount(load_default=0)
    interest = _amount(load_default=0)


class RepaymentList(Schema):
    loan_id = fields.Integer(**REQ)
    outstanding_principal = _money(**REQ)
    items = fields.List(fields.Nested(RepaymentOut), **REQ)


@blp.route("/loans/<int:loan_id>/repayments")
class Repayments(MethodView):
    @blp.response(200, RepaymentList)
    @blp.doc(security=[{"bearer": []}])
    @api_user(*LOAN_READERS)
    def get(self, loan_id, actor):
        """The repayments recorded on a loan, in the order they were recorded."""
        loan = loan_for(db.session, actor, loan_id)
        return {"loan_id": loan.id, "outstanding_principal": outstanding_principal(loan),
                "items": [repayment_json(r) for r in loan.repayments]}

    @blp.arguments(RepaymentCreate)
    @blp.response(201, LoanDetailOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        """Record a repayment (the loan's bank); the loan answers with its new state."""
        _act(lambda: record_repayment(db.session, actor, loan_id, now=utcnow(), **data))
        return loan_json(get_loan(db.session, loan_id), detail=True)


class ReasonRequest(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


@blp.route("/loans/<int:loan_id>/confirm")
class LoanConfirm(MethodView):
    @blp.response(200, LoanDetailOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.ENTERPRISE, scope="write")
    def post(self, loan_id, actor):
        """The enterprise confirms the loan its bank recorded: the loan takes effect and its assets are pledged.
        409 when it no longer waits or an asset is no longer free."""
        _act(lambda: confirm_loan(db.session, actor, loan_id, utcnow()))
        return loan_json(get_loan(db.session, loan_id), detail=True)


@blp.route("/loans/<int:loan_id>/decline")
class LoanDecline(MethodView):
    @blp.response(200, LoanOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.ENTERPRISE, Role.BANK, scope="write")
    def post(self, loan_id, actor):
        """The enterprise refuses (or the bank withdraws) a pending loan: nothing is pledged."""
        return loan_json(_act(lambda: decline_loan(db.session, actor, loan_id, utcnow())))


@blp.route("/loans/<int:loan_id>/default")
class Default(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, LoanOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        """Declare the loan in default (the loan's bank), with a reason, once an instalment is overdue past the grace
        period of the loan's policy; its pledges then wait for disposal. 409 before that: ask staff instead
        (`POST /loans/{id}/default-request`)."""
        return loan_json(_act(lambda: declare_default(db.session, actor, loan_id, utcnow(), data["reason"])))


@blp.route("/loans/<int:loan_id>/default-request")
class DefaultRequest(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, LoanOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        """Ask exchange staff to confirm a default before the grace period has run, with the reason."""
        return loan_json(_act(lambda: request_default(db.session, actor, loan_id, utcnow(), data["reason"])))


@blp.route("/loans/<int:loan_id>/default-request/confirm")
class DefaultConfirm(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, LoanOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, loan_id, actor):
        """Staff confirm the bank's default request with their reason: the loan is then in default (audited)."""
        return loan_json(_act(lambda: confirm_default(db.session, actor, loan_id, utcnow(), data["reason"])))


@blp.route("/loans/<int:loan_id>/default-request/refuse")
class DefaultRefuse(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, LoanOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, loan_id, actor):
        """Staff refuse the bank's default request with their reason: the loan goes on."""
        return loan_json(_act(lambda: refuse_default(db.session, actor, loan_id, utcnow(), data["reason"])))


# ------------------------------------------------------------------------------------------------ claims

class RecoveryRequest(Schema):
    recovery = _amount(required=True)
    evidence = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "What proves the recovery (court ruling, settlement, bank statement); staff verify it"})


class CheckOut(Schema):
    code = fields.String(**REQ)
    ok = fields.Boolean(**REQ)
    message = fields.String(**REQ)


class ClaimOut(Schema):
    id = fields.Integer(**REQ)
    loan_id = fields.Integer(**REQ)
    status = fields.String(**REQ)
    outstanding_principal = _money(**REQ)
    recovery = _money(**REQ)
    loss = _money(**REQ)
    guarantor_share = _money(**REQ)
    insurer_share = _money(**REQ)
    bank_loss = _money(**REQ)
    compensation = _money(**REQ)
    reason = fields.String(allow_none=True, **REQ)
    bank_org_id = fields.Integer(**REQ)
    recovery_source = fields.String(**REQ, metadata={"description": "`exchange` (settlement) or `declared`"})
    recovery_evidence = fields.String(allow_none=True, **REQ)
    evidence_verified_at = UtcDateTime(allow_none=True, **REQ)
    decision_reason = fields.String(allow_none=True, **REQ)
    checklist = fields.List(fields.Nested(CheckOut), **REQ, metadata={
        "description": "The facts staff check; approval is refused while one is not ok"})
    created_at = UtcDateTime(**REQ)
    approved_at = UtcDateTime(allow_none=True, **REQ)
    paid_at = UtcDateTime(allow_none=True, **REQ)


class ClaimList(Schema):
    items = fields.List(fields.Nested(ClaimOut), **REQ)


def claim_json(claim: CompensationClaim) -> dict:
    return {
        "id": claim.id, "loan_id": claim.loan_id, "status": claim.status.value,
        "outstanding_principal": claim.outstanding_principal, "recovery": claim.recovery,
        "loss": claim.loss, "guarantor_share": claim.guarantor_share,
        "insurer_share": claim.insurer_share, "bank_loss": claim.bank_loss,
        "compensation": claim.compensation,
        "reason": DomainError(claim.reason, **(claim.reason_params or {})).localized() if claim.reason else None,
        "bank_org_id": claim.loan.bank_org_id, "recovery_source": claim.recovery_source.value,
        "recovery_evidence": claim.recovery_evidence, "evidence_verified_at": claim.evidence_verified_at,
        "decision_reason": claim.decision_reason,
        "checklist": [{"code": c.code, "ok": c.ok, "message": c.localized()}
                      for c in claim_checklist(db.session, claim)],
        "created_at": claim.created_at, "approved_at": claim.approved_at, "paid_at": claim.paid_at,
    }


@blp.route("/loans/<int:loan_id>/claim")
class LoanClaim(MethodView):
    @blp.arguments(RecoveryRequest)
    @blp.response(201, ClaimOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF, scope="write")
    def post(self, data, loan_id, actor):
        """Declare what was recovered on a defaulted loan outside the exchange, with the evidence, and assemble its
        compensation claim; staff verify the evidence before they can approve it."""
        return claim_json(_act(lambda: record_recovery(db.session, actor, loan_id, data["recovery"],
                                                       utcnow(), data["evidence"])))


@blp.route("/claims")
class Claims(MethodView):
    @blp.response(200, ClaimList)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF)
    def get(self, actor):
        """Compensation claims of the bank's loans (all claims for staff), newest first."""
        return {"items": [claim_json(c) for c in db.session.scalars(visible_claims(actor).limit(500))]}


@blp.route("/claims/<int:claim_id>")
class ClaimItem(MethodView):
    @blp.response(200, ClaimOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF)
    def get(self, claim_id, actor):
        """One compensation claim: its loan's bank and staff see it; to anyone else it does not exist (404)."""
        return claim_json(claim_for(db.session, actor, claim_id))


@blp.route("/claims/<int:claim_id>/approve")
class ClaimApprove(MethodView):
    @blp.response(200, ClaimOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, claim_id, actor):
        """Approve a submitted claim (staff) when every fact of its checklist holds (409 otherwise); approved claims
        are paid from the fund in order of approval."""
        return claim_json(_act(lambda: approve_claim(db.session, actor, claim_id, utcnow())))


@blp.route("/claims/<int:claim_id>/reject")
class ClaimReject(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, ClaimOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, claim_id, actor):
        """Reject a submitted claim (staff), with the reason."""
        return claim_json(_act(lambda: reject_claim(db.session, actor, claim_id, utcnow(), data["reason"])))


@blp.route("/claims/<int:claim_id>/verify-recovery")
class ClaimVerify(MethodView):
    @blp.response(200, ClaimOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, claim_id, actor):
        """Staff verified the evidence of a recovery the bank declared (409 for an exchange settlement)."""
        return claim_json(_act(lambda: verify_recovery(db.session, actor, claim_id, utcnow())))


# ------------------------------------------------------------------------------------------------ fund

class FundOut(Schema):
    balance = _money(**REQ)
    waiting_claims = fields.Integer(**REQ)
    waiting_amount = _money(**REQ)
    accounts = fields.Dict(keys=fields.String(), values=_money(),
                           metadata={"description": "Ledger account balances (staff only)"})


class LedgerLineOut(Schema):
    account = fields.String(**REQ)
    amount = _money(**REQ, metadata={"description": "Debit positive, credit negative"})


class LedgerTxnOut(Schema):
    id = fields.Integer(**REQ)
    ref = fields.String(**REQ)
    kind = fields.String(**REQ)
    memo = fields.String(allow_none=True, **REQ)
    amount = _money(**REQ)
    created_at = UtcDateTime(**REQ)
    lines = fields.List(fields.Nested(LedgerLineOut), **REQ)


class LedgerTxnList(Schema):
    items = fields.List(fields.Nested(LedgerTxnOut), **REQ)


def txn_json(txn: LedgerTxn) -> dict:
    return {"id": txn.id, "ref": txn.ref, "kind": txn.kind, "memo": txn.memo, "amount": txn.amount,
            "created_at": txn.created_at,
            "lines": [{"account": line.account.value, "amount": line.amount} for line in txn.lines]}


@blp.route("/fund")
class FundBalance(MethodView):
    @blp.response(200, FundOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF)
    def get(self, actor):
        """The compensation fund: balance and the approved claims waiting for money."""
        now = utcnow()
        balance = fund_balance(db.session, now)
        waiting = waiting_claims(db.session)
        body = {"balance": balance, "waiting_claims": len(waiting),
                "waiting_amount": sum((c.compensation for c in waiting), ZERO)}
        if actor.role is Role.STAFF:
            body["accounts"] = {a.value: account_balance(db.session, a) for a in LedgerAccount}
        db.session.commit()
        return body


class ContributionRequest(Schema):
    amount = _amount(True, required=True)
    memo = fields.String(load_default=None, validate=validate.Length(max=300))


class ContributionOut(Schema):
    balance = _money(**REQ)
    transaction = fields.Nested(LedgerTxnOut, **REQ)


@blp.route("/fund/contributions")
class FundContribution(MethodView):
    @blp.arguments(ContributionRequest)
    @blp.response(201, ContributionOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, actor):
        """Top up the fund (staff); approved claims waiting for money are then paid in order."""
        txn = _act(lambda: contribute(db.session, actor, data["amount"], utcnow(), data["memo"]))
        return {"balance": fund_balance(db.session, utcnow()), "transaction": txn_json(txn)}


@blp.route("/fund/transactions")
class FundTransactions(MethodView):
    @blp.response(200, LedgerTxnList)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF)
    def get(self, actor):
        """The fund's ledger (staff): the latest 200 balanced transactions, newest first."""
        rows = db.session.scalars(select(LedgerTxn).order_by(LedgerTxn.id.desc()).limit(200))
        return {"items": [txn_json(t) for t in rows]}


@blp.route("/loans/<int:loan_id>/subsidy")
class LoanSubsidy(MethodView):
    @blp.response(201, LedgerTxnOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, loan_id, actor):
        """Pay the loan's guarantee/insurance premium subsidy from the fund (staff). Paying twice returns the same
        transaction; 409 when the fund is short, 422 when the loan has no subsidy."""
        return txn_json(_act(lambda: pay_subsidy(db.session, actor, loan_id, utcnow())))


# ------------------------------------------------------------------------------------------------ rates and policies

def _recent_day(value) -> None:
    if not 1990 <= value.year < 2200:
        raise ValidationError("Give a date between the years 1990 and 2199.")


class RateOut(Schema):
    id = fields.Integer(**REQ)
    kind = fields.String(**REQ)
    effective_on = fields.Date(**REQ)
    rate = _money(**REQ)
    source = fields.String(allow_none=True, **REQ)


class RateQuery(Schema):
    on = fields.Date(load_default=None, validate=_recent_day,
                     metadata={"description": "The day whose rates in force are given (default today)"})


class RateTable(Schema):
    on = fields.Date(**REQ)
    in_force = fields.Dict(keys=fields.String(), values=_money(), **REQ)
    items = fields.List(fields.Nested(RateOut), **REQ)


class RateIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(RATE_KINDS))
    effective_on = fields.Date(required=True, validate=_recent_day)
    rate = bounded(REFERENCE_RATE, required=True)
    source = fields.String(load_default=None, validate=validate.Length(max=200))


def rate_json(row) -> dict:
    return {"id": row.id, "kind": row.kind, "effective_on": row.effective_on, "rate": row.rate, "source": row.source}


@blp.route("/rates")
class Rates(MethodView):
    @blp.arguments(RateQuery, location="query")
    @blp.response(200, RateTable)
    @blp.doc(security=[{"bearer": []}])
    @api_user()
    def get(self, args, actor):
        """The dated reference rates (PBoC 1-year benchmark, 1-year LPR) the rate cap is judged by, and the ones in
        force on `on`. Any signed-in user."""
        on = args["on"] or utcnow().date()
        in_force = {}
        for kind in RATE_KINDS:
            try:
                in_force[kind] = rate_on(db.session, kind, on)
            except DomainError:  # no rate of that kind known on that day
                pass
        return {"on": on, "in_force": in_force, "items": [rate_json(r) for r in rate_table(db.session)]}

    @blp.arguments(RateIn)
    @blp.response(201, RateOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, actor):
        """Add a dated rate (staff); 409 when that kind already has a rate on that day."""
        return rate_json(_act(lambda: add_rate(db.session, actor, now=utcnow(), **data)))


class PolicyOut(Schema):
    id = fields.Integer(**REQ)
    code = fields.String(**REQ)
    name = fields.String(**REQ)
    effective_from = fields.Date(**REQ)
    effective_to = fields.Date(allow_none=True, **REQ)
    eligible_kinds = fields.List(fields.String(), **REQ)
    rate_cap_mode = fields.String(**REQ)
    rate_cap_ratio = _money(**REQ)
    rate_cap_spread_bp = fields.Integer(allow_none=True, **REQ)
    premium_subsidy_rate = _money(**REQ)
    compensation_rate = _money(**REQ)
    compensation_cap = _money(**REQ)
    enterprise_risk_ceiling = _money(**REQ)
    default_grace_days = fields.Integer(**REQ, metadata={
        "description": "Days an instalment may be overdue before the bank may declare default on its own"})
    spending_order = fields.List(fields.String(), **REQ)
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
    source = fields.String(load_default=None, validate=validate.Length(max=300))


def policy_json(p) -> dict:
    return {**{name: getattr(p, name) for name in (
        "id", "code", "name", "effective_from", "effective_to", "eligible_kinds", "rate_cap_ratio",
        "rate_cap_spread_bp", "premium_subsidy_rate", "compensation_rate", "compensation_cap",
        "enterprise_risk_ceiling", "default_grace_days", "source")},
        "rate_cap_mode": p.rate_cap_mode.value, "spending_order": list(p.spending_order or [])}


@blp.route("/policies")
class Policies(MethodView):
    @blp.response(200, PolicyList)
    @blp.doc(security=[{"bearer": []}])
    @api_user()
    def get(self, actor):
        """The policy versions (newest first) and the one in force today: eligible kinds, rate cap, premium subsidy,
        compensation share and cap, the enterprise's risk ceiling. Any signed-in user (the plan calculator applies
        them publicly)."""
        current = policy_in_force(db.session, utcnow().date())
        return {"in_force": policy_json(current), "items": [policy_json(p) for p in policy_versions(db.session)]}

    @blp.arguments(PolicyIn)
    @blp.response(201, PolicyOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, actor):
        """Add a policy version (staff) taking effect after every existing one; the version in force until then ends
        the day before. Loans keep the version they were signed under. 409 for an overlapping date."""
        return policy_json(_act(lambda: add_policy(db.session, actor, now=utcnow(), **data)))
