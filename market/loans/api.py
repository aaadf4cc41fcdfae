"""JSON API of loans: the plan calculator (public), loans, repayments, default, claims and the fund (bank, staff)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from market.accounts.models import Role
from market.api.auth import api_user
from market.db import db, utcnow
from market.loans import service
from market.loans.models import CompensationClaim, Loan, RepaymentMethod
from market.loans.policy import evaluate_plan, policy_in_force

blp = Blueprint("loans_api", __name__, url_prefix="/api/v1", description="Financing plans, loans, claims, fund")

Money = fields.Decimal(as_string=True)


def _dec(**kw):
    return fields.Decimal(allow_nan=False, **kw)


class PlanRequest(Schema):
    loan_amount = _dec(required=True)
    annual_rate = _dec(required=True)
    benchmark_rate = _dec(required=True)
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 360))
    guarantee_coverage = _dec(load_default=0, validate=validate.Range(0, 1))
    guarantee_premium = _dec(load_default=0, validate=validate.Range(0))
    insurance_coverage = _dec(load_default=0, validate=validate.Range(0, 1))
    insurance_premium = _dec(load_default=0, validate=validate.Range(0))
    enterprise_coverage = _dec(load_default=0, validate=validate.Range(0, 1))
    signed_on = fields.Date(load_default=None)


def plan_json(result) -> dict:
    return {
        "eligible": result.eligible,
        "reasons": [r.localized() for r in result.reasons],
        "reason_codes": [r.code for r in result.reasons],
        "policy": result.policy_code,
        "rate_cap": str(result.rate_cap),
        "rate_ratio": str(result.rate_ratio),
        "premium_subsidy": str(result.premium_subsidy),
        "premium_subsidy_guarantor": str(result.premium_subsidy_guarantor),
        "premium_subsidy_insurer": str(result.premium_subsidy_insurer),
        "compensation_on_total_loss": str(result.compensation_on_total_loss),
        "shares": {k: str(v) for k, v in result.shares.items()},
        "enterprise_cost": str(result.enterprise_cost),
        "enterprise_share": str(result.enterprise_share),
        "enterprise_within_ceiling": result.enterprise_within_ceiling,
        "warnings": [w.localized() for w in result.warnings],
    }


@blp.route("/plans/evaluate")
class PlanEvaluate(MethodView):
    @blp.arguments(PlanRequest)
    def post(self, data):
        """Evaluate a financing plan against the policy in force (today, or on `signed_on`). Public."""
        on = data.pop("signed_on") or utcnow().date()
        policy = policy_in_force(db.session, on)
        result = evaluate_plan(policy, **data)
        db.session.commit()  # the policy table may have been seeded on first use
        return plan_json(result)


# ------------------------------------------------------------------------------------------------ loans

def loan_json(loan: Loan, detail: bool = False) -> dict:
    body = {
        "id": loan.id, "status": loan.status.value, "bank_org_id": loan.bank_org_id,
        "enterprise_org_id": loan.enterprise_org_id, "principal": str(loan.principal),
        "outstanding_principal": str(service.outstanding_principal(loan)), "annual_rate": str(loan.annual_rate),
        "benchmark_rate": str(loan.benchmark_rate), "rate_within_cap": loan.rate_within_cap,
        "policy": loan.policy.code, "term_months": loan.term_months, "repayment_method": loan.repayment_method.value,
        "signed_on": loan.signed_on.isoformat(), "maturity": loan.maturity.isoformat(),
        "guarantor_org_id": loan.guarantor_org_id, "guarantee_coverage": str(loan.guarantee_coverage),
        "guarantee_premium": str(loan.guarantee_premium), "insurer_org_id": loan.insurer_org_id,
        "insurance_coverage": str(loan.insurance_coverage), "insurance_premium": str(loan.insurance_premium),
        "premium_subsidy": str(loan.premium_subsidy), "offer_id": loan.offer_id,
        "pledges": [{"id": p.id, "asset_id": p.asset_id, "registration_number": p.registration_number,
                     "registered_on": p.registered_on.isoformat(), "active": p.active} for p in loan.pledges],
    }
    if detail:
        body["schedule"] = [{"seq": i.seq, "due_on": i.due_on.isoformat(), "principal": str(i.principal),
                             "interest": str(i.interest)} for i in service.loan_schedule(loan)]
        body["repayments"] = [{"id": r.id, "paid_on": r.paid_on.isoformat(), "principal": str(r.principal),
                               "interest": str(r.interest)} for r in loan.repayments]
        body["watch_flags"] = [{"asset_id": f.asset_id, "reason": f.reason, "raised_at": f.raised_at.isoformat()}
                               for f in loan.flags]
    return body


class LoanCreate(Schema):
    enterprise_org_id = fields.Integer(required=True, strict=True)
    principal = _dec(required=True)
    annual_rate = _dec(required=True)
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 360))
    asset_ids = fields.List(fields.Integer(strict=True), required=True, validate=validate.Length(min=1, max=50))
    signed_on = fields.Date(required=True)
    registration_number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    registered_on = fields.Date(load_default=None)
    repayment_method = fields.String(load_default="equal_principal",
                                     validate=validate.OneOf([m.value for m in RepaymentMethod]))
    guarantor_org_id = fields.Integer(load_default=None, strict=True)
    guarantee_coverage = _dec(load_default=0, validate=validate.Range(0, 1))
    guarantee_premium = _dec(load_default=0, validate=validate.Range(0))
    insurer_org_id = fields.Integer(load_default=None, strict=True)
    insurance_coverage = _dec(load_default=0, validate=validate.Range(0, 1))
    insurance_premium = _dec(load_default=0, validate=validate.Range(0))
    collateral_text = fields.String(load_default=None, validate=validate.Length(max=2000))


def _visible_loans(actor):
    q = select(Loan).order_by(Loan.id.desc())
    if actor.role is Role.BANK:
        q = q.where(Loan.bank_org_id == actor.organisation_id)
    return q


@blp.route("/loans")
class Loans(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF)
    def get(self, actor):
        """Loans of the bank (all loans for staff)."""
        return {"items": [loan_json(loan) for loan in db.session.scalars(_visible_loans(actor).limit(500))]}

    @blp.arguments(LoanCreate)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, data, actor):
        """Record a signed loan with its pledges."""
        data["repayment_method"] = RepaymentMethod(data["repayment_method"])
        loan = service.sign_loan(db.session, actor, now=utcnow(), **data)
        db.session.commit()
        return loan_json(loan, detail=True), 201


class OfferLoanCreate(Schema):
    signed_on = fields.Date(required=True)
    registration_number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    registered_on = fields.Date(load_default=None)
    repayment_method = fields.String(load_default="equal_principal",
                                     validate=validate.OneOf([m.value for m in RepaymentMethod]))
    guarantor_org_id = fields.Integer(load_default=None, strict=True)
    guarantee_coverage = _dec(load_default=0, validate=validate.Range(0, 1))
    guarantee_premium = _dec(load_default=0, validate=validate.Range(0))
    insurer_org_id = fields.Integer(load_default=None, strict=True)
    insurance_coverage = _dec(load_default=0, validate=validate.Range(0, 1))
    insurance_premium = _dec(load_default=0, validate=validate.Range(0))
    collateral_text = fields.String(load_default=None, validate=validate.Length(max=2000))


@blp.route("/offers/<int:offer_id>/loan")
class OfferLoan(MethodView):
    @blp.arguments(OfferLoanCreate)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, data, offer_id, actor):
        """Sign the loan of an offer the enterprise accepted: principal, rate and term from the offer, pledges on the
        need's assets; the need becomes funded. 409 when the offer is not accepted, already signed, or an asset is no
        longer free (nothing is written then)."""
        data["repayment_method"] = RepaymentMethod(data["repayment_method"])
        loan = service.sign_loan_from_offer(db.session, actor, offer_id, now=utcnow(), **data)
        loan_id = loan.id
        db.session.commit()
        from market.needs.indexing import quick_drain

        quick_drain()
        return loan_json(service.get_loan(db.session, loan_id), detail=True), 201


@blp.route("/loans/<int:loan_id>")
class LoanItem(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF)
    def get(self, loan_id, actor):
        return loan_json(service.loan_for(db.session, actor, loan_id), detail=True)


class RepaymentCreate(Schema):
    paid_on = fields.Date(required=True)
    principal = _dec(load_default=0)
    interest = _dec(load_default=0)


@blp.route("/loans/<int:loan_id>/repayments")
class Repayments(MethodView):
    @blp.arguments(RepaymentCreate)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        service.record_repayment(db.session, actor, loan_id, now=utcnow(), **data)
        db.session.commit()
        return loan_json(service.get_loan(db.session, loan_id), detail=True), 201


@blp.route("/loans/<int:loan_id>/default")
class Default(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, scope="write")
    def post(self, loan_id, actor):
        loan = service.declare_default(db.session, actor, loan_id, utcnow())
        db.session.commit()
        return loan_json(loan)


class RecoveryRequest(Schema):
    recovery = _dec(required=True, validate=validate.Range(0))


def claim_json(claim: CompensationClaim) -> dict:
    from market.errors import DomainError

    return {
        "id": claim.id, "loan_id": claim.loan_id, "status": claim.status.value,
        "outstanding_principal": str(claim.outstanding_principal), "recovery": str(claim.recovery),
        "loss": str(claim.loss), "guarantor_share": str(claim.guarantor_share),
        "insurer_share": str(claim.insurer_share), "bank_loss": str(claim.bank_loss),
        "compensation": str(claim.compensation),
        "reason": DomainError(claim.reason, **(claim.reason_params or {})).localized() if claim.reason else None,
        "approved_at": claim.approved_at.isoformat() if claim.approved_at else None,
        "paid_at": claim.paid_at.isoformat() if claim.paid_at else None,
    }


@blp.route("/loans/<int:loan_id>/claim")
class LoanClaim(MethodView):
    @blp.arguments(RecoveryRequest)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF, scope="write")
    def post(self, data, loan_id, actor):
        """Record the disposal recovery of a defaulted loan and assemble its compensation claim."""
        claim = service.record_recovery(db.session, actor, loan_id, data["recovery"], utcnow())
        db.session.commit()
        return claim_json(claim), 201


@blp.route("/claims")
class Claims(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF)
    def get(self, actor):
        q = select(CompensationClaim).order_by(CompensationClaim.id.desc())
        if actor.role is Role.BANK:
            q = q.join(Loan, Loan.id == CompensationClaim.loan_id).where(Loan.bank_org_id == actor.organisation_id)
        return {"items": [claim_json(c) for c in db.session.scalars(q.limit(500))]}


@blp.route("/claims/<int:claim_id>/approve")
class ClaimApprove(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, claim_id, actor):
        claim = service.approve_claim(db.session, actor, claim_id, utcnow())
        db.session.commit()
        return claim_json(claim)


@blp.route("/fund")
class FundBalance(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.BANK, Role.STAFF)
    def get(self, actor):
        """The compensation fund: balance and the approved claims waiting for money."""
        from market.loans.models import LedgerAccount

        now = utcnow()
        balance = service.fund_balance(db.session, now)
        waiting = service.waiting_claims(db.session)
        body = {"balance": str(balance), "waiting_claims": len(waiting),
                "waiting_amount": str(sum((c.compensation for c in waiting), 0))}
        if actor.role is Role.STAFF:
            body["accounts"] = {a.value: str(service.account_balance(db.session, a)) for a in LedgerAccount}
        db.session.commit()
        return body


class ContributionRequest(Schema):
    amount = _dec(required=True, validate=validate.Range(0, min_inclusive=False))
    memo = fields.String(load_default=None, validate=validate.Length(max=300))


@blp.route("/fund/contributions")
class FundContribution(MethodView):
    @blp.arguments(ContributionRequest)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, actor):
        service.contribute(db.session, actor, data["amount"], utcnow(), data["memo"])
        db.session.commit()
        return {"balance": str(service.fund_balance(db.session, utcnow()))}, 201

