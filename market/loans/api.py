"""JSON API of loans: the plan calculator (public), loans, schedules, repayments, default, claims and the fund.

Every operation documents its success body with a schema (`market.loans.schemas`, which dump the objects): money and
rates travel as decimal strings, dates as ISO 8601 days, times as RFC 3339 date-times in UTC. Refusals are the
services' domain errors (nothing is kept then)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from market.accounts.models import Role
from market.api.auth import api_user
from market.db import db, utcnow
from market.errors import DomainError
from market.loans.access import LOAN_READERS, get_loan, loan_for, visible_loans
from market.loans.claims import approve_claim, claim_for, record_recovery, reject_claim, verify_recovery, visible_claims
from market.loans.default import confirm_default, declare_default, refuse_default, request_default
from market.loans.fund import account_balance, contribute, fund_balance, pay_subsidy, waiting_claims
from market.loans.models import LedgerAccount, LedgerTxn, RepaymentMethod
from market.loans.regional import model_input
from market.loans.repayments import record_repayment
from market.loans.schedule import amount_overdue, instalment_states, outstanding_principal
from market.loans.schemas import (
    ClaimList,
    ClaimOut,
    ContributionOut,
    ContributionRequest,
    FundOut,
    LedgerTxnList,
    LedgerTxnOut,
    LoanCreate,
    LoanDetailOut,
    LoanList,
    LoanOut,
    OfferLoanCreate,
    PlanOut,
    PlanRequest,
    PolicyIn,
    PolicyList,
    PolicyOut,
    RateIn,
    RateOut,
    RateQuery,
    RateTable,
    ReasonRequest,
    RecoveryRequest,
    RepaymentCreate,
    RepaymentList,
    ScheduleOut,
    ScheduleQuery,
)
from market.loans.signing import confirm_loan, decline_loan, sign_loan, sign_loan_from_offer
from market.needs.indexing import quick_drain
from market.policy.models import RATE_KINDS
from market.policy.plan import evaluate_plan
from market.policy.rules import ZERO
from market.policy.service import add_policy, add_rate, policy_in_force, policy_versions, rate_on, rate_table
from market.work import commit_or_rollback as _act

blp = Blueprint("loans_api", __name__, url_prefix="/api/v1", description="Financing plans, loans, claims, fund")


@blp.route("/plans/evaluate")
class PlanEvaluate(MethodView):
    @blp.arguments(PlanRequest)
    @blp.response(200, PlanOut)
    def post(self, data):
        """Evaluate a financing plan against the policy in force (today, or on `signed_on`), under a region's loan
        model (`loan_model`), and the same plan under each model (`models`). Public."""
        on = data.pop("signed_on") or utcnow().date()
        return evaluate_plan(policy_in_force(db.session, on), signed_on=on, compare=True, **data)



@blp.route("/loans")
class Loans(MethodView):
    @blp.response(200, LoanList)
    @api_user(*LOAN_READERS)
    def get(self, actor):
        """Loans of the caller's organisation (as bank, enterprise, guarantor or insurer); all loans for staff."""
        return {"items": db.session.scalars(visible_loans(actor).limit(500)).all()}

    @blp.arguments(LoanCreate)
    @blp.response(201, LoanDetailOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, actor):
        """Record a loan agreed outside an offer. It is `pending`: no asset is pledged until the enterprise confirms
        it (`POST /loans/{id}/confirm`)."""
        data["repayment_method"] = RepaymentMethod(data["repayment_method"])
        model = model_input(data)
        loan = _act(lambda: sign_loan(db.session, actor, now=utcnow(), model=model, **data))
        return loan



@blp.route("/offers/<int:offer_id>/loan")
class OfferLoan(MethodView):
    @blp.arguments(OfferLoanCreate)
    @blp.response(201, LoanDetailOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, offer_id, actor):
        """Sign the loan of an offer the enterprise accepted: principal, rate and term from the offer, pledges on the
        need's assets; the need becomes funded. 409 when the offer is not accepted, already signed, or an asset is no
        longer free (nothing is written then)."""
        data["repayment_method"] = RepaymentMethod(data["repayment_method"])
        model = model_input(data)
        loan = _act(lambda: sign_loan_from_offer(db.session, actor, offer_id, now=utcnow(), model=model, **data))
        quick_drain()
        return get_loan(db.session, loan.id)



@blp.route("/loans/<int:loan_id>")
class LoanItem(MethodView):
    @blp.response(200, LoanDetailOut)
    @api_user(*LOAN_READERS)
    def get(self, loan_id, actor):
        """One loan with its schedule, repayments and watch flags (its bank, enterprise, guarantor, insurer, staff)."""
        return loan_for(db.session, actor, loan_id)



@blp.route("/loans/<int:loan_id>/schedule")
class LoanSchedule(MethodView):
    @blp.arguments(ScheduleQuery, location="query")
    @blp.response(200, ScheduleOut)
    @api_user(*LOAN_READERS)
    def get(self, args, loan_id, actor):
        """The repayment schedule as of a day: each instalment's due date, principal, interest, what is paid of it
        and whether it is overdue."""
        loan = loan_for(db.session, actor, loan_id)
        today = args["as_of"] or utcnow().date()
        return {"loan_id": loan.id, "as_of": today, "status": loan.status.value,
                "outstanding_principal": outstanding_principal(loan),
                "amount_overdue": amount_overdue(loan, today),
                "items": instalment_states(loan, today)}



@blp.route("/loans/<int:loan_id>/repayments")
class Repayments(MethodView):
    @blp.response(200, RepaymentList)
    @api_user(*LOAN_READERS)
    def get(self, loan_id, actor):
        """The repayments recorded on a loan, in the order they were recorded."""
        return loan_for(db.session, actor, loan_id)

    @blp.arguments(RepaymentCreate)
    @blp.response(201, LoanDetailOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        """Record a repayment (the loan's bank); the loan answers with its new state."""
        _act(lambda: record_repayment(db.session, actor, loan_id, now=utcnow(), **data))
        return get_loan(db.session, loan_id)



@blp.route("/loans/<int:loan_id>/confirm")
class LoanConfirm(MethodView):
    @blp.response(200, LoanDetailOut)
    @api_user(Role.ENTERPRISE, scope="write")
    def post(self, loan_id, actor):
        """The enterprise confirms the loan its bank recorded: the loan takes effect and its assets are pledged.
        409 when it no longer waits or an asset is no longer free."""
        _act(lambda: confirm_loan(db.session, actor, loan_id, utcnow()))
        return get_loan(db.session, loan_id)



@blp.route("/loans/<int:loan_id>/decline")
class LoanDecline(MethodView):
    @blp.response(200, LoanOut)
    @api_user(Role.ENTERPRISE, Role.BANK, scope="write")
    def post(self, loan_id, actor):
        """The enterprise refuses (or the bank withdraws) a pending loan: nothing is pledged."""
        return _act(lambda: decline_loan(db.session, actor, loan_id, utcnow()))



@blp.route("/loans/<int:loan_id>/default")
class Default(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, LoanOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        """Declare the loan in default (the loan's bank), with a reason, once an instalment is overdue past the grace
        period of the loan's policy; its pledges then wait for disposal. 409 before that: ask staff instead
        (`POST /loans/{id}/default-request`)."""
        return _act(lambda: declare_default(db.session, actor, loan_id, utcnow(), data["reason"]))



@blp.route("/loans/<int:loan_id>/default-request")
class DefaultRequest(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, LoanOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        """Ask exchange staff to confirm a default before the grace period has run, with the reason."""
        return _act(lambda: request_default(db.session, actor, loan_id, utcnow(), data["reason"]))



@blp.route("/loans/<int:loan_id>/default-request/confirm")
class DefaultConfirm(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, LoanOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, loan_id, actor):
        """Staff confirm the bank's default request with their reason: the loan is then in default (audited)."""
        return _act(lambda: confirm_default(db.session, actor, loan_id, utcnow(), data["reason"]))



@blp.route("/loans/<int:loan_id>/default-request/refuse")
class DefaultRefuse(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, LoanOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, loan_id, actor):
        """Staff refuse the bank's default request with their reason: the loan goes on."""
        return _act(lambda: refuse_default(db.session, actor, loan_id, utcnow(), data["reason"]))



@blp.route("/loans/<int:loan_id>/claim")
class LoanClaim(MethodView):
    @blp.arguments(RecoveryRequest)
    @blp.response(201, ClaimOut)
    @api_user(Role.BANK, Role.STAFF, scope="write")
    def post(self, data, loan_id, actor):
        """Declare what was recovered on a defaulted loan outside the exchange, with the evidence, and assemble its
        compensation claim; staff verify the evidence before they can approve it."""
        return _act(lambda: record_recovery(db.session, actor, loan_id, data["recovery"], utcnow(),
                                            data["evidence"]))



@blp.route("/claims")
class Claims(MethodView):
    @blp.response(200, ClaimList)
    @api_user(Role.BANK, Role.STAFF)
    def get(self, actor):
        """Compensation claims of the bank's loans (all claims for staff), newest first."""
        return {"items": db.session.scalars(visible_claims(actor).limit(500)).all()}



@blp.route("/claims/<int:claim_id>")
class ClaimItem(MethodView):
    @blp.response(200, ClaimOut)
    @api_user(Role.BANK, Role.STAFF)
    def get(self, claim_id, actor):
        """One compensation claim: its loan's bank and staff see it; to anyone else it does not exist (404)."""
        return claim_for(db.session, actor, claim_id)



@blp.route("/claims/<int:claim_id>/approve")
class ClaimApprove(MethodView):
    @blp.response(200, ClaimOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, claim_id, actor):
        """Approve a submitted claim (staff) when every fact of its checklist holds (409 otherwise); approved claims
        are paid from the fund in order of approval."""
        return _act(lambda: approve_claim(db.session, actor, claim_id, utcnow()))



@blp.route("/claims/<int:claim_id>/reject")
class ClaimReject(MethodView):
    @blp.arguments(ReasonRequest)
    @blp.response(200, ClaimOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, claim_id, actor):
        """Reject a submitted claim (staff), with the reason."""
        return _act(lambda: reject_claim(db.session, actor, claim_id, utcnow(), data["reason"]))



@blp.route("/claims/<int:claim_id>/verify-recovery")
class ClaimVerify(MethodView):
    @blp.response(200, ClaimOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, claim_id, actor):
        """Staff verified the evidence of a recovery the bank declared (409 for an exchange settlement)."""
        return _act(lambda: verify_recovery(db.session, actor, claim_id, utcnow()))



@blp.route("/fund")
class FundBalance(MethodView):
    @blp.response(200, FundOut)
    @api_user(Role.BANK, Role.STAFF)
    def get(self, actor):
        """The compensation fund: balance and the approved claims waiting for money."""
        balance = fund_balance(db.session)
        waiting = waiting_claims(db.session)
        body = {"balance": balance, "waiting_claims": len(waiting),
                "waiting_amount": sum((c.compensation for c in waiting), ZERO)}
        if actor.role is Role.STAFF:
            body["accounts"] = {a.value: account_balance(db.session, a) for a in LedgerAccount}
        return body



@blp.route("/fund/contributions")
class FundContribution(MethodView):
    @blp.arguments(ContributionRequest)
    @blp.response(201, ContributionOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, actor):
        """Top up the fund (staff); approved claims waiting for money are then paid in order."""
        txn = _act(lambda: contribute(db.session, actor, data["amount"], utcnow(), data["memo"]))
        return {"balance": fund_balance(db.session), "transaction": txn}



@blp.route("/fund/transactions")
class FundTransactions(MethodView):
    @blp.response(200, LedgerTxnList)
    @api_user(Role.STAFF)
    def get(self, actor):
        """The fund's ledger (staff): the latest 200 balanced transactions, newest first."""
        rows = db.session.scalars(select(LedgerTxn).order_by(LedgerTxn.id.desc()).limit(200))
        return {"items": rows.all()}



@blp.route("/loans/<int:loan_id>/subsidy")
class LoanSubsidy(MethodView):
    @blp.response(201, LedgerTxnOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, loan_id, actor):
        """Pay the loan's guarantee/insurance premium subsidy from the fund (staff). Paying twice returns the same
        transaction; 409 when the fund is short, 422 when the loan has no subsidy."""
        return _act(lambda: pay_subsidy(db.session, actor, loan_id, utcnow()))



@blp.route("/rates")
class Rates(MethodView):
    @blp.arguments(RateQuery, location="query")
    @blp.response(200, RateTable)
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
        return {"on": on, "in_force": in_force, "items": rate_table(db.session)}

    @blp.arguments(RateIn)
    @blp.response(201, RateOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, actor):
        """Add a dated rate (staff); 409 when that kind already has a rate on that day."""
        return _act(lambda: add_rate(db.session, actor, now=utcnow(), **data))



@blp.route("/policies")
class Policies(MethodView):
    @blp.response(200, PolicyList)
    @api_user()
    def get(self, actor):
        """The policy versions (newest first) and the one in force today: eligible kinds, rate cap, premium subsidy,
        compensation share and cap, the enterprise's risk ceiling. Any signed-in user (the plan calculator applies
        them publicly)."""
        return {"in_force": policy_in_force(db.session, utcnow().date()), "items": policy_versions(db.session)}

    @blp.arguments(PolicyIn)
    @blp.response(201, PolicyOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, actor):
        """Add a policy version (staff) taking effect after every existing one; the version in force until then ends
        the day before. Loans keep the version they were signed under. 409 for an overlapping date."""
        return _act(lambda: add_policy(db.session, actor, now=utcnow(), **data))

