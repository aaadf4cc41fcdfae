"""Compensation claims: assembled from a defaulted loan's recovery (the exchange's settlement, or a recovery the bank
declares with evidence), checked and decided by staff, then paid by the fund (`market.loans.fund`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.audit.service import record, snapshot
from market.db import get_or_fail, lock_row
from market.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from market.loans.access import get_loan
from market.loans.default import end_after_claim, required_reason
from market.loans.fund import pay_queue
from market.loans.models import (
    CompensationClaim,
    CompensationStatus,
    Consent,
    DefaultBasis,
    Loan,
    LoanStatus,
    RecoverySource,
)
from market.loans.regional import eligibility_reasons, loan_split, loan_terms
from market.loans.schedule import outstanding_principal
from market.loans.states import CLAIM, CLAIM_FIELDS
from market.notices.service import notify
from market.policy.regional import LoanModel, model_reasons
from market.policy.rules import ZERO, as_decimal, money, pct, rate_cap, rate_reasons
from market.security import N_, require


def record_recovery(session: Session, actor, loan_id: int, recovery, now: datetime,
                    evidence: str | None = None) -> CompensationClaim:
    """The bank (or staff) declares what was recovered outside the exchange, with the evidence (court ruling,
    settlement agreement, bank statement): the claim is assembled, and staff must verify the evidence
    (`verify_recovery`) before they can approve it. The exchange's own settlement calls `assemble_claim`."""
    loan = get_loan(session, loan_id)
    if actor is not None and actor.role is not Role.STAFF and actor.organisation_id != loan.bank_org_id:
        raise Forbidden("Your role cannot do this.")
    if loan.status is LoanStatus.IN_DISPOSAL and (actor is None or actor.role is not Role.STAFF):
        # The exchange assembles the claim from the sale price when the lot settles; a second figure typed by
        # the bank meanwhile would be counted instead of the real recovery.
        raise Conflict("The exchange is selling this loan's pledges: the recovery is recorded when the sale "
                       "settles.")
    evidence = (evidence or "").strip()
    if not evidence:
        raise InvalidInput("Describe the evidence of the recovery (court ruling, settlement, bank statement): "
                           "staff verify it before the claim can be approved.")
    if len(evidence) > 2000:
        raise InvalidInput("The evidence is too long (at most %(max)s characters).", max=2000)
    return assemble_claim(session, loan, recovery, now, actor=actor, source=RecoverySource.DECLARED,
                          evidence=evidence)


@dataclass(frozen=True)
class ClaimBreakdown:
    """How a claim's compensation follows from the loan, step by step (the claim page shows each line):
    loss = outstanding principal − recovery; under Tianjin's combined pledge the tangible collateral covers its
    valuation of the loss first; the guarantor and the insurer carry their coverage of the rest (under Shanghai's
    model the counter-guarantor repays the guarantor its share, which changes nothing for the bank); the bank's
    remaining principal loss is compensated min(rate × bank loss, cap) when the loan is eligible (its rate within
    the cap of its policy; under Jiangsu's relationship lending, a valid government recommendation), else nothing."""

    loan_model: LoanModel
    outstanding: Decimal
    recovery: Decimal
    loss: Decimal
    collateral: Decimal  # covered by the tangible collateral (Tianjin)
    guarantee_coverage: Decimal
    guarantor: Decimal  # what the guarantor pays the bank
    counter_guarantee_share: Decimal
    counter_guarantor: Decimal  # of which the counter-guarantor repays the guarantor (Shanghai)
    insurance_coverage: Decimal
    insurer: Decimal
    bank_loss: Decimal
    compensation_rate: Decimal
    before_cap: Decimal
    cap: Decimal
    compensation: Decimal
    reason: str | None
    reason_params: dict | None

    @property
    def share_of_loss(self) -> Decimal:
        """The compensation as a fraction of the whole loss (not of the bank's part)."""
        return (self.compensation / self.loss).quantize(Decimal("0.0001")) if self.loss else ZERO

    @property
    def shared_loss(self) -> Decimal:
        """The loss left after the tangible collateral, which the guarantor, insurer, fund and bank share."""
        return self.loss - self.collateral


def claim_breakdown(loan: Loan, recovery: Decimal, outstanding: Decimal | None = None) -> ClaimBreakdown:
    policy = loan.policy
    outstanding = outstanding_principal(loan) if outstanding is None else money(outstanding)
    recovery = money(recovery)
    loss = max(outstanding - recovery, ZERO)
    split = loan_split(loan, loss)
    before_cap = money(split.bank_loss * Decimal(policy.compensation_rate))
    reasons = eligibility_reasons(loan)
    if reasons:
        amount, reason, params = ZERO, reasons[0].message, reasons[0].params
    elif split.bank_loss == 0:
        amount, reason, params = ZERO, "There is no principal loss to compensate.", {}
    else:
        amount, reason, params = split.government, None, None
    return ClaimBreakdown(loan_model=loan_terms(loan).model, outstanding=outstanding, recovery=recovery, loss=loss,
                          collateral=split.collateral, guarantee_coverage=Decimal(loan.guarantee_coverage),
                          guarantor=split.guarantor_pays,
                          counter_guarantee_share=Decimal(loan.counter_guarantee_share or 0),
                          counter_guarantor=split.counter_guarantor,
                          insurance_coverage=Decimal(loan.insurance_coverage), insurer=split.insurer,
                          bank_loss=split.bank_loss, compensation_rate=Decimal(policy.compensation_rate),
                          before_cap=before_cap, cap=money(policy.compensation_cap), compensation=amount,
                          reason=reason, reason_params=params)


def assemble_claim(session: Session, loan: Loan, recovery, now: datetime, actor=None,
                   source: RecoverySource = RecoverySource.EXCHANGE, evidence: str | None = None) -> CompensationClaim:
    """Assemble the loan's compensation claim (`claim_breakdown`) for staff approval. One claim per loan. Called by
    the exchange when the disposal settles (the recovery is the sum of the settled sale prices: source `exchange`);
    `record_recovery` calls it for a recovery the bank declares with evidence (source `declared`)."""
    if loan.status not in (LoanStatus.DEFAULTED, LoanStatus.IN_DISPOSAL):
        raise Conflict("Only a defaulted loan can be claimed for compensation.")
    if session.scalar(select(CompensationClaim.id).where(CompensationClaim.loan_id == loan.id)):
        raise Conflict("This loan already has a compensation claim.")
    recovery = money(as_decimal(recovery, "recovery"))
    if recovery < 0:
        raise InvalidInput("The recovery must not be negative.")
    b = claim_breakdown(loan, recovery)
    amount = b.compensation
    claim = CompensationClaim(
        loan_id=loan.id, policy_id=loan.policy_id, outstanding_principal=b.outstanding, recovery=recovery,
        loss=b.loss, collateral_share=b.collateral, guarantor_share=b.guarantor,
        counter_guarantor_share=b.counter_guarantor, insurer_share=b.insurer, bank_loss=b.bank_loss,
        compensation=amount, reason=b.reason, reason_params=b.reason_params, recovery_source=source,
        recovery_evidence=evidence if source is RecoverySource.DECLARED else None,
        status=CompensationStatus.SUBMITTED if amount > 0 else CompensationStatus.NOT_COVERED, created_at=now)
    session.add(claim)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("This loan already has a compensation claim.") from exc
    record(session, actor=actor, action="claim.assembled", entity_type="claim", entity_id=claim.id, now=now,
           after={**snapshot(claim, CLAIM_FIELDS), "loan": loan.id, "loss": b.loss, "bank_loss": b.bank_loss,
                  "recovery": recovery, "recovery_source": source.value, "evidence": claim.recovery_evidence})
    if amount > 0:
        notify(session, msgid="A compensation claim for loan %(loan)s awaits approval.", now=now,
               role=Role.STAFF.value, link="/loans/claims", loan=loan.id)
    else:
        end_after_claim(session, actor, claim, now)
    return claim


@dataclass(frozen=True)
class Check:
    """One fact of the staff checklist of a claim: `ok`, and a translatable English msgid with its parameters."""

    code: str
    ok: bool
    message: str
    params: dict

    def localized(self) -> str:
        return DomainError(self.message, **self.params).localized()


def claim_checklist(session: Session, claim: CompensationClaim) -> list[Check]:
    """The facts staff check before approving a claim; `approve_claim` refuses while any fails.

    consent: the enterprise agreed to the pledge (accepted offer, or confirmed the loan); default: an instalment was
    overdue past the policy's grace period when the bank declared it, or staff confirmed it with a reason; recovery:
    from the exchange's settlement, or declared with evidence that staff verified; rate: within the cap of the
    policy (≤ 150 % of the benchmark); amounts: the claim's figures are what the rules give for this loan."""
    loan = claim.loan
    checks = []
    if loan.consent is Consent.OFFER:
        checks.append(Check("consent", True, "Consent: the enterprise accepted the bank's offer %(offer)s.",
                            {"offer": loan.offer_id}))
    elif loan.consent is Consent.CONFIRMED and loan.consented_at is not None:
        checks.append(Check("consent", True, "Consent: the enterprise confirmed the loan and its pledges on %(day)s.",
                            {"day": loan.consented_at.date().isoformat()}))
    else:
        checks.append(Check("consent", False, "Consent: nothing shows that the enterprise agreed to the pledge.", {}))
    facts = loan.default_facts or {}
    if loan.default_basis is DefaultBasis.OVERDUE and facts.get("oldest_due_on") \
            and int(facts.get("days_overdue", 0)) > int(facts.get("grace_days", 0)):
        checks.append(Check("default", True, "Default: the instalment due on %(due)s was %(days)s days overdue "
                            "(grace period %(grace)s days, %(amount)s overdue) when the bank declared default on "
                            "%(day)s. Reason: %(reason)s",
                            {"due": facts["oldest_due_on"], "days": facts["days_overdue"],
                             "grace": facts["grace_days"], "amount": facts.get("amount_overdue", "0"),
                             "day": loan.defaulted_on.isoformat() if loan.defaulted_on else "?",
                             "reason": loan.default_reason or ""}))
    elif loan.default_basis is DefaultBasis.STAFF and loan.default_confirmed_by_id and loan.default_reason:
        checks.append(Check("default", True, "Default: confirmed by exchange staff on %(day)s. Reason: %(reason)s "
                            "(the bank's: %(request)s)",
                            {"day": loan.defaulted_on.isoformat() if loan.defaulted_on else "?",
                             "reason": loan.default_reason, "request": loan.default_request_reason or "—"}))
    else:
        checks.append(Check("default", False, "Default: no instalment was overdue past the grace period and staff "
                            "did not confirm the default.", {}))
    if claim.recovery_source is RecoverySource.EXCHANGE:
        checks.append(Check("recovery", True, "Recovery %(amount)s: from the exchange's settlement of the disposal.",
                            {"amount": claim.recovery}))
    elif claim.evidence_verified_at is not None:
        checks.append(Check("recovery", True, "Recovery %(amount)s: declared by the bank; staff verified the "
                            "evidence on %(day)s (%(evidence)s).",
                            {"amount": claim.recovery, "day": claim.evidence_verified_at.date().isoformat(),
                             "evidence": claim.recovery_evidence or ""}))
    else:
        checks.append(Check("recovery", False, "Recovery %(amount)s: declared by the bank; the evidence is not "
                            "verified yet (%(evidence)s).",
                            {"amount": claim.recovery, "evidence": claim.recovery_evidence or "—"}))
    model = _model_check(loan)
    if model is not None:
        checks.append(model)
    reasons = rate_reasons(claim.loan.policy, Decimal(loan.annual_rate), Decimal(loan.benchmark_rate))
    checks.append(Check("rate", not reasons, "Rate: %(rate)s against the cap of %(cap)s (benchmark %(benchmark)s).",
                        {"rate": pct(Decimal(loan.annual_rate)), "benchmark": pct(Decimal(loan.benchmark_rate)),
                         "cap": pct(rate_cap(loan.policy, Decimal(loan.benchmark_rate)))}))
    expected = claim_breakdown(loan, claim.recovery, outstanding_principal(loan))
    same = (money(claim.outstanding_principal), money(claim.loss), money(claim.collateral_share),
            money(claim.guarantor_share), money(claim.counter_guarantor_share), money(claim.insurer_share),
            money(claim.bank_loss), money(claim.compensation)) == (
        expected.outstanding, expected.loss, expected.collateral, expected.guarantor, expected.counter_guarantor,
        expected.insurer, expected.bank_loss, expected.compensation)
    checks.append(Check("amounts", same and expected.compensation <= expected.cap,
                        "Amounts: outstanding %(outstanding)s − recovery %(recovery)s = loss %(loss)s; the rules "
                        "give a compensation of %(expected)s, the claim asks %(claimed)s.",
                        {"outstanding": expected.outstanding, "recovery": expected.recovery, "loss": expected.loss,
                         "expected": expected.compensation, "claimed": money(claim.compensation)}))
    return checks


def _model_check(loan: Loan) -> Check | None:
    """The loan model's fact on the checklist (none for Chongqing's): Jiangsu's recommendation must be valid;
    Shanghai's counter-guarantee and Tianjin's tangible collateral are stated for staff to check."""
    terms = loan_terms(loan)
    if terms.model is LoanModel.JIANGSU:
        reasons = model_reasons(loan.policy, terms, loan.signed_on)
        return Check("model", not reasons, "Relationship lending: recommended by %(by)s on %(day)s; the loan was "
                     "signed on %(signed)s (a recommendation stays valid %(days)s days).",
                     {"by": loan.recommended_by or "—", "day": loan.recommended_on.isoformat()
                      if loan.recommended_on else "—", "signed": loan.signed_on.isoformat(),
                      "days": loan.policy.recommendation_valid_days})
    if terms.model is LoanModel.SHANGHAI:
        return Check("model", True, "Counter-guarantee: %(who)s repays the guarantor %(share)s of its payment, "
                     "secured with %(security)s.",
                     {"who": loan.counter_guarantor.name if loan.counter_guarantor else "—",
                      "share": pct(terms.counter_guarantee_share, 2), "security": loan.counter_guarantee_security})
    if terms.model is LoanModel.TIANJIN:
        return Check("model", True, "Combined pledge: %(count)s tangible assets valued %(value)s cover the loss "
                     "first.", {"count": len(loan.collateral), "value": f"¥{money(terms.collateral_value):,}"})
    return None


def verify_recovery(session: Session, staff, claim_id: int, now: datetime) -> CompensationClaim:
    """Staff verified the evidence of a declared recovery (audited); the claim may then be approved."""
    require(staff, Role.STAFF)
    claim = _locked_claim(session, claim_id)
    if claim.status is not CompensationStatus.SUBMITTED:
        raise Conflict("Only a submitted claim can be checked.")
    if claim.recovery_source is not RecoverySource.DECLARED:
        raise Conflict("This recovery comes from the exchange's settlement: there is no evidence to verify.")
    if claim.evidence_verified_at is not None:
        raise Conflict("The evidence of this claim was already verified.")
    claim.evidence_verified_at = now
    claim.evidence_verified_by_id = staff.id
    session.flush()
    record(session, actor=staff, action="claim.evidence_verified", entity_type="claim", entity_id=claim.id, now=now,
           after={"recovery": claim.recovery, "evidence": claim.recovery_evidence})
    return claim


def loan_claim(session: Session, loan_id: int) -> CompensationClaim | None:
    return session.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == loan_id))


def get_claim(session: Session, claim_id: int) -> CompensationClaim:
    claim = get_or_fail(session, CompensationClaim, claim_id, "This claim does not exist.")
    return claim


def visible_claims(actor) -> Select:
    """The claims the actor may see, newest first: staff all, a bank those of its loans, anyone else none."""
    query = select(CompensationClaim).order_by(CompensationClaim.id.desc())
    if actor is not None and actor.role is Role.STAFF:
        return query
    if actor is None or actor.role is not Role.BANK or actor.organisation_id is None:
        return query.where(false())
    return query.join(Loan, Loan.id == CompensationClaim.loan_id).where(Loan.bank_org_id == actor.organisation_id)


def claim_for(session: Session, actor, claim_id: int) -> CompensationClaim:
    """A claim its loan's bank or staff may see (`visible_claims`); anyone else is told it does not exist."""
    claim = session.scalar(visible_claims(actor).where(CompensationClaim.id == claim_id))
    if claim is None:
        raise NotFound("This claim does not exist.")
    return claim


def _locked_claim(session: Session, claim_id: int) -> CompensationClaim:
    """The claim read under its row lock: two decisions at once queue, and the second sees the first's outcome (a
    claim is never both paid and rejected)."""
    claim = lock_row(session, CompensationClaim, claim_id)
    if claim is None:
        raise NotFound("This claim does not exist.")
    return claim


def approve_claim(session: Session, staff, claim_id: int, now: datetime) -> CompensationClaim:
    """Staff approve a submitted claim when every fact of its checklist holds (`claim_checklist`); approved claims
    are paid from the fund in order of approval."""
    require(staff, Role.STAFF)
    claim = _locked_claim(session, claim_id)
    if claim.status is not CompensationStatus.SUBMITTED:
        raise Conflict("Only a submitted claim can be approved.")
    failing = [c.code for c in claim_checklist(session, claim) if not c.ok]
    if failing:
        raise Conflict("The claim cannot be approved while a fact of its checklist fails (%(facts)s): see the "
                       "claim page.", facts=", ".join(failing))
    CLAIM.move(session, staff, claim, CompensationStatus.APPROVED, now,
               also={"approved_at": now, "approved_by_id": staff.id})
    notify(session, msgid=N_("Your compensation claim for loan %(loan)s was approved; it is paid in order."), now=now, org_id=claim.loan.bank_org_id, link=f"/loans/{claim.loan_id}", loan=claim.loan_id)  # noqa: E501
    pay_queue(session, now)
    return claim


def reject_claim(session: Session, staff, claim_id: int, now: datetime, reason: str | None = None
                 ) -> CompensationClaim:
    """Staff reject a submitted claim, with the reason (kept on the claim, shown to the bank, audited)."""
    require(staff, Role.STAFF)
    reason = required_reason(reason, "Give the reason for rejecting the claim.")
    claim = _locked_claim(session, claim_id)
    if claim.status is not CompensationStatus.SUBMITTED:
        raise Conflict("Only a submitted claim can be rejected.")
    CLAIM.move(session, staff, claim, CompensationStatus.REJECTED, now, also={"decision_reason": reason})
    notify(session, msgid=N_("Your compensation claim for loan %(loan)s was rejected."), now=now, org_id=claim.loan.bank_org_id, link=f"/loans/{claim.loan_id}", loan=claim.loan_id)  # noqa: E501
    end_after_claim(session, staff, claim, now)
    return claim
