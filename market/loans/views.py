"""Pages of the loans area: the plan calculator, bank loan pages, staff claims queue, fund ledger and rate table."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from market.accounts.models import Organisation, OrgKind, OrgStatus, Role
from market.areas import collect
from market.db import db, utcnow
from market.errors import DomainError
from market.formkit import flash_errors
from market.loans import signing
from market.loans.access import LOAN_READERS, loan_for, visible_loans
from market.loans.claims import (
    approve_claim,
    claim_breakdown,
    claim_checklist,
    claim_for,
    loan_claim,
    record_recovery,
    reject_claim,
    verify_recovery,
    visible_claims,
)
from market.loans.default import confirm_default, declare_default, default_requests, refuse_default, request_default
from market.loans.forms import (
    ConfirmForm,
    ConsentForm,
    ContributionForm,
    LoanForm,
    PlanForm,
    PolicyForm,
    RateForm,
    ReasonForm,
    RecoveryForm,
    RepaymentForm,
    SignOfferForm,
)
from market.loans.fund import contribute, fund_balance, pay_subsidy, running_balances, waiting_claims
from market.loans.models import CompensationClaim, CompensationStatus, LedgerTxn, RepaymentMethod
from market.loans.regional import eligibility_reasons
from market.loans.repayments import record_repayment
from market.loans.schedule import (
    ENDED_STATUSES,
    amount_overdue,
    loan_schedule,
    loan_shares,
    outstanding_principal,
    overdue_facts,
)
from market.loans.signing import loan_of_offer, offer_for_signing, proposed_assets, sign_loan, sign_loan_from_offer
from market.needs.indexing import quick_drain
from market.needs.labels import kind_label
from market.needs.models import Offer
from market.policy.kinds import IpKind
from market.policy.models import RATE_KINDS
from market.policy.plan import evaluate_plan
from market.policy.service import (
    SPENDING_FIELDS,
    add_policy,
    add_rate,
    benchmark_on,
    policy_in_force,
    policy_versions,
    rate_table,
)
from market.security import roles_required
from market.work import commit_or_flash

loans_bp = Blueprint("loans", __name__)


@loans_bp.route("/plans", methods=["GET", "POST"])
def plans():
    """The financing-plan calculator: public."""
    form = PlanForm()
    result = policy = None
    today = utcnow().date()
    if form.validate_on_submit():
        try:
            policy, result = _plan(form, form.signed_on.data or today)
        except DomainError as exc:  # a read: nothing to commit or roll back
            flash(exc.localized(), "error")
    elif not form.is_submitted():
        form.benchmark_rate.data = benchmark_on(db.session, today)
    if policy is None:
        policy = policy_in_force(db.session, today)
    return render_template("loans/plans.html", form=form, result=result, policy=policy)


def _plan(form: PlanForm, on):
    """The policy in force on `on` and the plan of the form evaluated against it."""
    policy = policy_in_force(db.session, on)
    benchmark = form.benchmark_rate.data or benchmark_on(db.session, on)
    return policy, evaluate_plan(
        policy, form.loan_amount.data, form.annual_rate.data, benchmark, form.term_months.data,
        form.guarantee_coverage.data or 0, form.guarantee_premium.data or 0,
        form.insurance_coverage.data or 0, form.insurance_premium.data or 0,
        loan_model=form.loan_model.data, counter_guarantee_share=form.counter_guarantee_share.data or 0,
        counter_by_enterprise=form.counter_by_enterprise.data, recommended_on=form.recommended_on.data,
        collateral_value=form.collateral_value.data or 0, signed_on=on, compare=True,
    )


@loans_bp.route("/loans/policies", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def policies():
    """Staff keep the policy versions: a new version takes effect on a date after every existing one."""
    form = PolicyForm()
    form.eligible_kinds.choices = [(k.value, kind_label(k.value)) for k in IpKind]
    if not form.is_submitted():
        form.eligible_kinds.data = ["invention", "utility_model", "design", "ic_layout"]
    if form.validate_on_submit():
        ok, _added = commit_or_flash(lambda: add_policy(
            db.session, current_user, name=form.name.data, effective_from=form.effective_from.data,
            eligible_kinds=form.eligible_kinds.data, rate_cap_mode=form.rate_cap_mode.data,
            rate_cap_ratio=form.rate_cap_ratio.data, rate_cap_spread_bp=form.rate_cap_spread_bp.data,
            premium_subsidy_rate=form.premium_subsidy_rate.data, compensation_rate=form.compensation_rate.data,
            compensation_cap=form.compensation_cap.data, enterprise_risk_ceiling=form.enterprise_risk_ceiling.data,
            source=form.source.data, default_grace_days=form.default_grace_days.data,
            recommendation_valid_days=form.recommendation_valid_days.data, now=utcnow(),
            **{name: getattr(form, name).data for name in SPENDING_FIELDS},
        ), _("The policy version was added."))
        if ok:
            return redirect(url_for("loans.policies"))
    today = utcnow().date()
    current = policy_in_force(db.session, today)
    if not form.is_submitted():  # the values that carry over when left blank, shown as they are
        for name in (*SPENDING_FIELDS, "recommendation_valid_days"):
            getattr(form, name).data = getattr(current, name)
    return render_template("loans/policies.html", form=form, versions=policy_versions(db.session), current=current,
                           today=today)


@loans_bp.route("/loans/")
@roles_required(*LOAN_READERS)
def index():
    loans = db.session.scalars(visible_loans(current_user).limit(500)).all()
    return render_template("loans/index.html", loans=loans, outstanding=outstanding_principal)


def _org_choices(kind: OrgKind, optional: bool) -> list[tuple[int, str]]:
    orgs = db.session.scalars(select(Organisation).where(Organisation.kind == kind,
                                                         Organisation.status == OrgStatus.VERIFIED)
                              .order_by(Organisation.name)).all()
    return ([(0, "—")] if optional else []) + [(o.id, o.name) for o in orgs]


def _model(form) -> dict:
    """The regional model of a loan form and its terms (market.loans.regional); blank collateral rows are skipped."""
    return {"loan_model": form.loan_model.data,
            "counter_guarantor_org_id": form.counter_guarantor_org_id.data or None,
            "counter_guarantee_security": form.counter_guarantee_security.data,
            "counter_guarantee_share": form.counter_guarantee_share.data or 0,
            "recommended_by": form.recommended_by.data, "recommended_on": form.recommended_on.data,
            "collateral": [entry.form.data for entry in form.collateral]}


def _parties(form) -> None:
    """The organisations a loan form offers: guarantors, insurers, and counter-guarantors (enterprises, guarantors)."""
    form.guarantor_org_id.choices = _org_choices(OrgKind.GUARANTOR, True)
    form.insurer_org_id.choices = _org_choices(OrgKind.INSURER, True)
    form.counter_guarantor_org_id.choices = (_org_choices(OrgKind.ENTERPRISE, True)
                                             + _org_choices(OrgKind.GUARANTOR, False))


def _terms(form) -> dict:
    """The repayment method, guarantee, insurance and regional model of a loan form (blank choices: none)."""
    return {"repayment_method": RepaymentMethod(form.repayment_method.data),
            "guarantor_org_id": form.guarantor_org_id.data or None,
            "guarantee_coverage": form.guarantee_coverage.data or 0,
            "guarantee_premium": form.guarantee_premium.data or 0,
            "insurer_org_id": form.insurer_org_id.data or None,
            "insurance_coverage": form.insurance_coverage.data or 0,
            "insurance_premium": form.insurance_premium.data or 0,
            "model": _model(form)}


@loans_bp.route("/loans/new", methods=["GET", "POST"])
@roles_required(Role.BANK)
def new():
    form = LoanForm()
    form.enterprise_org_id.choices = _org_choices(OrgKind.ENTERPRISE, False)
    _parties(form)
    if form.validate_on_submit():
        try:
            asset_ids = [int(x) for x in form.asset_ids.data.replace("，", ",").split(",") if x.strip()]
        except ValueError:
            flash(_("Asset ids must be whole numbers separated by commas."), "error")
            return render_template("loans/new.html", form=form), 422
        ok, loan = commit_or_flash(lambda: sign_loan(
            db.session, current_user, enterprise_org_id=form.enterprise_org_id.data, asset_ids=asset_ids,
            principal=form.principal.data, annual_rate=form.annual_rate.data, term_months=form.term_months.data,
            signed_on=form.signed_on.data, now=utcnow(), registration_number=form.registration_number.data,
            collateral_text=form.collateral_text.data, **_terms(form),
        ), _("The loan was recorded. It takes effect, and the assets are pledged, when the enterprise confirms it."))
        if ok:
            return redirect(url_for("loans.detail", loan_id=loan.id))
    return render_template("loans/new.html", form=form)


@loans_bp.route("/loans/from-offer/<int:offer_id>", methods=["GET", "POST"])
@roles_required(Role.BANK)
def sign_offer(offer_id: int):
    """The bank signs the loan of an offer the enterprise accepted (amount, rate, term and assets prefilled)."""
    try:
        offer = offer_for_signing(db.session, current_user, offer_id)
    except DomainError as exc:
        db.session.rollback()
        existing = loan_of_offer(db.session, offer_id)
        if existing is not None and existing.bank_org_id == current_user.organisation_id:
            flash(_("A loan was already signed from this offer."), "info")
            return redirect(url_for("loans.detail", loan_id=existing.id))
        flash(exc.localized(), "error")
        return redirect(url_for("needs.bank_matches"))
    need = offer.need
    form = SignOfferForm()
    _parties(form)
    today = utcnow().date()
    if not form.is_submitted():
        form.signed_on.data = today
        form.registered_on.data = today
        form.collateral_text.data = need.tangible_collateral
    plan = None
    try:
        policy = policy_in_force(db.session, form.signed_on.data or today)
        plan = evaluate_plan(policy, offer.amount, offer.annual_rate, benchmark_on(db.session, today),
                             offer.term_months)
    except DomainError:
        policy = None
    if form.validate_on_submit():
        ok, loan = commit_or_flash(lambda: sign_loan_from_offer(
            db.session, current_user, offer.id, signed_on=form.signed_on.data, now=utcnow(),
            registration_number=form.registration_number.data, registered_on=form.registered_on.data,
            collateral_text=form.collateral_text.data, **_terms(form),
        ), _("The loan was signed; the financing need is funded."))
        if not ok:
            return render_template("loans/sign_offer.html", form=form, offer=offer, need=need, plan=plan,
                                   policy=policy), 422
        quick_drain()
        return redirect(url_for("loans.detail", loan_id=loan.id))
    return render_template("loans/sign_offer.html", form=form, offer=offer, need=need, plan=plan, policy=policy)


@loans_bp.route("/loans/<int:loan_id>", methods=["GET"])
@roles_required(Role.BANK, Role.STAFF, Role.ENTERPRISE, Role.GUARANTOR, Role.INSURER)
def detail(loan_id: int):
    try:
        loan = loan_for(db.session, current_user, loan_id)
    except DomainError:
        abort(404)
    claim = loan_claim(db.session, loan.id)
    need_id = None
    if loan.offer_id is not None:
        offer = db.session.get(Offer, loan.offer_id)
        need_id = offer.need_id if offer is not None else None
    today = utcnow().date()
    subsidy_txn = db.session.scalar(select(LedgerTxn).where(LedgerTxn.ref == f"subsidy:loan:{loan.id}"))
    sections = [render(db.session, current_user, loan)
                for _position, render in sorted(collect("loan_sections"), key=lambda section: section[0])]
    return render_template(
        "loans/detail.html", loan=loan, schedule=loan_schedule(loan), claim=claim, need_id=need_id,
        outstanding=outstanding_principal(loan), overdue=amount_overdue(loan, today),
        ended=loan.status in ENDED_STATUSES, facts=overdue_facts(loan, today),
        shares=loan_shares(loan), eligibility=eligibility_reasons(loan), proposed=proposed_assets(db.session, loan),
        subsidy_txn=subsidy_txn,
        repayment_form=RepaymentForm(), confirm=ConfirmForm(), recovery_form=RecoveryForm(),
        reason_form=ReasonForm(), consent_form=ConsentForm(), sections=sections,
        is_bank=current_user.role is Role.BANK and loan.bank_org_id == current_user.organisation_id,
        is_enterprise=current_user.role is Role.ENTERPRISE and loan.enterprise_org_id == current_user.organisation_id,
    )


def _decide(loan_id: int, call, message: str, form=None):
    """Validate the decision's form (CSRF, and its reason and confirmation when it has them), run one service call,
    commit once, and go back to the loan page."""
    form = form or ConfirmForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: call(form), message)
    else:
        flash(_("Give the reason and tick the confirmation."), "error")
    return redirect(url_for("loans.detail", loan_id=loan_id))


@loans_bp.route("/loans/<int:loan_id>/confirm", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def confirm_loan(loan_id: int):
    return _decide(loan_id, lambda f: signing.confirm_loan(db.session, current_user, loan_id, utcnow()),
                   _("You confirmed the loan; its assets are pledged."), ConsentForm())


@loans_bp.route("/loans/<int:loan_id>/decline", methods=["POST"])
@roles_required(Role.ENTERPRISE, Role.BANK)
def decline_loan(loan_id: int):
    return _decide(loan_id, lambda f: signing.decline_loan(db.session, current_user, loan_id, utcnow()),
                   _("The loan will not take effect; nothing was pledged."))


@loans_bp.route("/loans/<int:loan_id>/repayments", methods=["POST"])
@roles_required(Role.BANK)
def repay(loan_id: int):
    form = RepaymentForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: record_repayment(
            db.session, current_user, loan_id, paid_on=form.paid_on.data, principal=form.principal.data or 0,
            interest=form.interest.data or 0, now=utcnow()), _("The repayment was recorded."))
    else:
        flash_errors(form, _("Please check the repayment form."))
    return redirect(url_for("loans.detail", loan_id=loan_id))


@loans_bp.route("/loans/<int:loan_id>/default", methods=["POST"])
@roles_required(Role.BANK)
def default(loan_id: int):
    return _decide(loan_id, lambda f: declare_default(db.session, current_user, loan_id, utcnow(),
                                                      f.reason.data),
                   _("The loan was declared in default."), ReasonForm())


@loans_bp.route("/loans/<int:loan_id>/default-request", methods=["POST"])
@roles_required(Role.BANK)
def default_request(loan_id: int):
    return _decide(loan_id, lambda f: request_default(db.session, current_user, loan_id, utcnow(),
                                                      f.reason.data),
                   _("Exchange staff were asked to confirm the default."), ReasonForm())


@loans_bp.route("/loans/<int:loan_id>/default-request/<any(confirm, refuse):decision>", methods=["POST"])
@roles_required(Role.STAFF)
def default_decision(loan_id: int, decision: str):
    fn = confirm_default if decision == "confirm" else refuse_default
    return _decide(loan_id, lambda f: fn(db.session, current_user, loan_id, utcnow(), f.reason.data),
                   _("Decision saved."), ReasonForm())


@loans_bp.route("/loans/<int:loan_id>/claim", methods=["POST"])
@roles_required(Role.BANK, Role.STAFF)
def claim(loan_id: int):
    return _decide(loan_id, lambda f: record_recovery(db.session, current_user, loan_id, f.recovery.data,
                                                      utcnow(), f.evidence.data),
                   _("The compensation claim was assembled."), RecoveryForm())


@loans_bp.route("/loans/claims")
@roles_required(Role.STAFF)
def claims():
    rows = db.session.scalars(visible_claims(current_user).limit(500)).all()
    return render_template("loans/claims.html", claims=rows, waiting=waiting_claims(db.session),
                           requests=default_requests(db.session), Status=CompensationStatus)


@loans_bp.route("/loans/claims/<int:claim_id>")
@roles_required(Role.STAFF, Role.BANK)
def claim_detail(claim_id: int):
    """One claim: the breakdown step by step, the checklist of facts, and (staff) the decisions."""
    try:
        item = claim_for(db.session, current_user, claim_id)
    except DomainError:
        abort(404)
    checks = claim_checklist(db.session, item)
    return render_template("loans/claim.html", claim=item, loan=item.loan, checks=checks,
                           all_ok=all(c.ok for c in checks),
                           breakdown=claim_breakdown(item.loan, item.recovery, item.outstanding_principal),
                           confirm=ConfirmForm(), reason_form=ReasonForm(), Status=CompensationStatus)


@loans_bp.route("/loans/claims/<int:claim_id>/<any(approve, reject, verify):decision>", methods=["POST"])
@roles_required(Role.STAFF)
def decide_claim(claim_id: int, decision: str):
    form = ReasonForm() if decision == "reject" else ConfirmForm()
    if form.validate_on_submit():
        calls = {"approve": lambda: approve_claim(db.session, current_user, claim_id, utcnow()),
                 "verify": lambda: verify_recovery(db.session, current_user, claim_id, utcnow()),
                 "reject": lambda: reject_claim(db.session, current_user, claim_id, utcnow(), form.reason.data)}
        commit_or_flash(calls[decision], _("Decision saved."))
    else:
        flash(_("Give the reason and tick the confirmation."), "error")
    return redirect(url_for("loans.claim_detail", claim_id=claim_id))


@loans_bp.route("/loans/fund", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def fund():
    form = ContributionForm()
    if form.validate_on_submit():
        ok, _txn = commit_or_flash(lambda: contribute(db.session, current_user, form.amount.data, utcnow(),
                                                      form.memo.data), _("The fund was topped up."))
        if ok:
            return redirect(url_for("loans.fund"))
    balance = fund_balance(db.session)
    txns = db.session.scalars(select(LedgerTxn).order_by(LedgerTxn.id.desc()).limit(200)).all()
    running = running_balances(db.session, [t.id for t in txns])
    waiting = waiting_claims(db.session)
    # System entries are described in the reader's language (their stored memo is English): claim refs → loan ids.
    claim_ids = [int(t.ref.split(":")[1]) for t in txns if t.ref.startswith("claim:")]
    claim_loans = {f"claim:{c.id}": c.loan_id for c in db.session.scalars(
        select(CompensationClaim).where(CompensationClaim.id.in_(claim_ids)))} if claim_ids else {}
    return render_template("loans/fund.html", form=form, balance=balance, txns=txns, waiting=waiting,
                           running=running, waiting_amount=sum((c.compensation for c in waiting), Decimal(0)),
                           claim_loans=claim_loans)


@loans_bp.route("/loans/<int:loan_id>/subsidy", methods=["POST"])
@roles_required(Role.STAFF)
def subsidy(loan_id: int):
    if ConfirmForm().validate_on_submit():
        commit_or_flash(lambda: pay_subsidy(db.session, current_user, loan_id, utcnow()),
                        _("The premium subsidy was paid."))
    return redirect(url_for("loans.detail", loan_id=loan_id))


@loans_bp.route("/loans/rates", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def rates():
    form = RateForm()
    if form.validate_on_submit():
        ok, _row = commit_or_flash(lambda: add_rate(db.session, current_user, kind=form.kind.data,
                                                    effective_on=form.effective_on.data, rate=form.rate.data,
                                                    source=form.source.data or None, now=utcnow()),
                                   _("The rate was added."))
        if ok:
            return redirect(url_for("loans.rates"))
    return render_template("loans/rates.html", form=form, rows=rate_table(db.session), kinds=RATE_KINDS)
