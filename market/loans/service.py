"""Rules of loans: signing with pledges, schedules and repayments, overdue detection, post-loan watch, default,
compensation claims and the compensation fund.

Interface for the exchange area (disposal of defaulted pledges):
- a loan the bank declared `defaulted` has its pledged assets listed by the exchange; call
  `start_disposal(session, actor, loan_id, now)` when they are put up (loan → in_disposal, assets → in_disposal);
- when the disposal is settled, call `record_recovery(session, actor, loan_id, recovery, now)`: it assembles the
  compensation claim (loss = outstanding principal − recovery) for staff approval.

How a defaulted loan ends (`end_after_claim`): once its claim is final the loan leaves disposal, audited, with
`closed_at` set. A recovery covering the outstanding principal (no loss) → `closed` (fully recovered); otherwise the
loss is written off → `written_off`, when the fund paid the compensation, when staff rejected the claim, or at once
when nothing is covered (rate above the cap, or the guarantor and insurer carry the whole loss). A submitted or
approved claim still waiting (for staff, or for the fund) keeps the loan in disposal. The loan's outstanding
principal is kept as it was at default (the claim and the exchange's results compare against it); an ended loan
owes nothing overdue.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, OrgKind, Role
from market.audit.service import record, snapshot
from market.db import lock_row
from market.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from market.ip.models import IpAsset, LegalStatus, PledgeState
from market.loans.models import (
    LOAN_STATES,
    OPEN_STATUSES,
    CompensationClaim,
    CompensationStatus,
    Consent,
    DefaultBasis,
    Fund,
    LedgerAccount,
    LedgerLine,
    LedgerTxn,
    Loan,
    LoanStatus,
    Pledge,
    RecoverySource,
    Repayment,
    RepaymentMethod,
    WatchFlag,
)
from market.loans.policy import (
    ZERO,
    as_decimal,
    evaluate_plan,
    kind_eligible,
    money,
    policy_in_force,
    rate_reasons,
    split_loss,
)
from market.loans.rates import rate_on
from market.notices.service import notify
from market.security import N_

LOAN_FIELDS = ["status", "principal", "annual_rate", "defaulted_on"]
ENDED_STATUSES = (LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF)  # a defaulted loan after its claim is final
CLAIM_FIELDS = ["status", "compensation", "approved_at", "paid_at"]
OPENING_CONTRIBUTION = Decimal("25000000.00")
MAX_BALANCE = Decimal("9999999999999999.99")  # what a Money column (18 digits, 2 decimals) holds
FUND_ID = 1
BAD_STATUSES = {
    LegalStatus.LAPSED: "lapsed",
    LegalStatus.INVALIDATED: "invalidated",
    LegalStatus.EXPIRED: "expired",
    LegalStatus.REJECTED: "rejected",
    LegalStatus.WITHDRAWN: "withdrawn",
}


# ------------------------------------------------------------------------------------------------ helpers

def _require(actor, *roles: Role) -> None:
    if actor is None or actor.role not in roles:
        raise Forbidden("Your role cannot do this.")
    if not actor.can_act:
        raise Forbidden("Your organisation must be verified before it can act.")


def get_loan(session: Session, loan_id: int) -> Loan:
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound("This loan does not exist.")
    return loan


def loan_for(session: Session, actor, loan_id: int) -> Loan:
    """A loan the actor may see: its bank, its enterprise, its guarantor/insurer, or staff."""
    loan = get_loan(session, loan_id)
    if actor.role is Role.STAFF:
        return loan
    if actor.organisation_id is not None and actor.organisation_id in (
        loan.bank_org_id, loan.enterprise_org_id, loan.guarantor_org_id, loan.insurer_org_id
    ):
        return loan
    raise NotFound("This loan does not exist.")


def _own_bank_loan(session: Session, actor, loan_id: int) -> Loan:
    """The actor's bank's loan, read under its row lock: the bank's writes on one loan (repayments, default)
    queue, and each judges what the one before it committed."""
    _require(actor, Role.BANK)
    lock_row(session, Loan, loan_id)
    loan = get_loan(session, loan_id)
    if loan.bank_org_id != actor.organisation_id:
        raise NotFound("This loan does not exist.")
    return loan


def _set_status(session: Session, actor, loan: Loan, status: LoanStatus, now: datetime, action: str) -> None:
    LOAN_STATES.check(loan.status, status)
    before = snapshot(loan, LOAN_FIELDS)
    loan.status = status
    session.flush()
    record(session, actor=actor, action=action, entity_type="loan", entity_id=loan.id, now=now, before=before,
           after=snapshot(loan, LOAN_FIELDS))


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# ------------------------------------------------------------------------------------------------ schedule

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
    """Who would carry a loss of the whole outstanding principal: the guarantor and the insurer their coverage, the
    fund (government) its compensation of the bank's remaining loss (0 above the rate cap), the bank the rest."""
    split = split_loss(loan.policy, outstanding_principal(loan), bool(loan.rate_within_cap),
                       Decimal(loan.guarantee_coverage), Decimal(loan.insurance_coverage))
    return {"loss": split.loss, "guarantor": split.guarantor, "insurer": split.insurer,
            "government": split.government, "bank": split.bank}


def is_overdue(loan: Loan, today: date) -> bool:
    return amount_overdue(loan, today) > 0


# ------------------------------------------------------------------------------------------------ signing

def _org(session: Session, org_id: int | None, kind: OrgKind, what: str) -> Organisation | None:
    if org_id is None:
        return None
    org = session.get(Organisation, org_id)
    if org is None or org.kind is not kind:
        raise InvalidInput("The %(what)s is not a known organisation of that kind.", what=what)
    if not org.is_verified:
        raise InvalidInput("The %(what)s is not verified.", what=what)
    return org


def _pledgeable_assets(session: Session, enterprise: Organisation, policy, asset_ids: list[int]) -> list[IpAsset]:
    """The assets, each belonging to the enterprise, granted, of a kind the policy accepts, and free (not pledged,
    frozen or in disposal); refused otherwise."""
    if not asset_ids:
        raise InvalidInput("A loan needs at least one pledged IP asset.")
    if len(set(asset_ids)) != len(asset_ids):
        raise InvalidInput("An asset is listed twice.")
    assets = []
    for asset_id in asset_ids:
        asset = session.get(IpAsset, asset_id)
        if asset is None or asset.owner_org_id != enterprise.id:
            raise InvalidInput("Asset %(id)s does not belong to the enterprise.", id=asset_id)
        if asset.legal_status is not LegalStatus.GRANTED:
            raise InvalidInput("Asset %(id)s is not a right in force and cannot be pledged.", id=asset_id)
        if not kind_eligible(policy, asset.kind):
            raise InvalidInput("The policy in force does not accept this kind of IP as a pledge (asset %(id)s).",
                               id=asset_id)
        if asset.frozen:
            raise Conflict("Asset %(id)s is frozen and cannot be pledged.", id=asset_id)
        if asset.pledge_state is not PledgeState.FREE:
            raise Conflict("Asset %(id)s is already pledged or in disposal.", id=asset_id)
        assets.append(asset)
    return assets


def _write_pledges(session: Session, loan: Loan, assets: list[IpAsset], registration_number: str,
                   registered_on: date, now: datetime) -> None:
    """Pledge the assets for the loan. Compare-and-set on each asset (only a free asset becomes pledged: the second of
    two racing signings sees 0 rows) and the partial unique index (one active pledge per asset) decide races."""
    try:
        for asset in assets:
            result = session.execute(
                update(IpAsset).where(IpAsset.id == asset.id, IpAsset.pledge_state == PledgeState.FREE)
                .values(pledge_state=PledgeState.PLEDGED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise Conflict("Asset %(id)s is already pledged or in disposal.", id=asset.id)
            session.add(Pledge(loan_id=loan.id, asset_id=asset.id, registration_number=registration_number,
                               registered_on=registered_on, active=True))
        session.flush()
    except IntegrityError as exc:
        raise Conflict("One of the assets is already pledged for another loan.") from exc
    for asset in assets:
        session.refresh(asset)


def _new_loan(session: Session, bank_user, *, enterprise_org_id: int, principal, annual_rate, term_months: int,
              asset_ids: list[int], signed_on: date, now: datetime, registration_number: str,
              repayment_method: RepaymentMethod, guarantor_org_id: int | None, guarantee_coverage,
              guarantee_premium, insurer_org_id: int | None, insurance_coverage, insurance_premium,
              collateral_text: str | None, offer_id: int | None, status: LoanStatus):
    """Validate the terms and add the loan row (no pledge yet). Returns (loan, assets, policy, plan)."""
    _require(bank_user, Role.BANK)
    enterprise = _org(session, enterprise_org_id, OrgKind.ENTERPRISE, "enterprise")
    _org(session, guarantor_org_id, OrgKind.GUARANTOR, "guarantor")
    _org(session, insurer_org_id, OrgKind.INSURER, "insurer")
    if guarantor_org_id is None and (Decimal(str(guarantee_coverage)) or Decimal(str(guarantee_premium))):
        raise InvalidInput("A guarantee needs a guarantor.")
    if insurer_org_id is None and (Decimal(str(insurance_coverage)) or Decimal(str(insurance_premium))):
        raise InvalidInput("An insurance needs an insurer.")
    if not (registration_number or "").strip():
        raise InvalidInput("The pledge registration number is required.")
    policy = policy_in_force(session, signed_on)
    benchmark = rate_on(session, policy.rate_benchmark_kind, signed_on)
    plan = evaluate_plan(policy, principal, annual_rate, benchmark, term_months, guarantee_coverage,
                         guarantee_premium, insurance_coverage, insurance_premium)
    assets = _pledgeable_assets(session, enterprise, policy, asset_ids)
    loan = Loan(
        bank_org_id=bank_user.organisation_id, enterprise_org_id=enterprise.id, policy_id=policy.id,
        principal=money(as_decimal(principal, "principal")), annual_rate=as_decimal(annual_rate, "annual_rate"),
        benchmark_rate=benchmark, rate_within_cap=plan.eligible, term_months=int(term_months),
        repayment_method=RepaymentMethod(repayment_method), signed_on=signed_on,
        maturity=add_months(signed_on, int(term_months)), status=status,
        guarantor_org_id=guarantor_org_id, guarantee_coverage=as_decimal(guarantee_coverage, "guarantee_coverage"),
        guarantee_premium=money(as_decimal(guarantee_premium, "guarantee_premium")),
        insurer_org_id=insurer_org_id, insurance_coverage=as_decimal(insurance_coverage, "insurance_coverage"),
        insurance_premium=money(as_decimal(insurance_premium, "insurance_premium")),
        premium_subsidy=plan.premium_subsidy, collateral_text=(collateral_text or None), offer_id=offer_id,
        created_by_id=bank_user.id, created_at=now,
    )
    session.add(loan)
    session.flush()
    return loan, assets, policy, plan


def sign_loan(session: Session, bank_user, *, enterprise_org_id: int, principal, annual_rate, term_months: int,
              asset_ids: list[int], signed_on: date, now: datetime, registration_number: str,
              registered_on: date | None = None, repayment_method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL,
              guarantor_org_id: int | None = None, guarantee_coverage=0, guarantee_premium=0,
              insurer_org_id: int | None = None, insurance_coverage=0, insurance_premium=0,
              collateral_text: str | None = None) -> Loan:
    """The bank records a loan it agreed with the enterprise outside an offer. The loan is `pending`: no asset is
    pledged until the enterprise confirms it (`confirm_loan`), so a bank cannot bind another's patents on its own.
    Each asset must belong to the enterprise, be granted, of a kind the policy in force on `signed_on` accepts, and
    free; that is checked again when the enterprise confirms."""
    registration_number = (registration_number or "").strip()
    loan, assets, policy, plan = _new_loan(
        session, bank_user, enterprise_org_id=enterprise_org_id, principal=principal, annual_rate=annual_rate,
        term_months=term_months, asset_ids=asset_ids, signed_on=signed_on, now=now,
        registration_number=registration_number, repayment_method=repayment_method,
        guarantor_org_id=guarantor_org_id, guarantee_coverage=guarantee_coverage,
        guarantee_premium=guarantee_premium, insurer_org_id=insurer_org_id, insurance_coverage=insurance_coverage,
        insurance_premium=insurance_premium, collateral_text=collateral_text, offer_id=None,
        status=LoanStatus.PENDING)
    loan.proposal = {"asset_ids": [a.id for a in assets], "registration_number": registration_number,
                     "registered_on": (registered_on or signed_on).isoformat()}
    session.flush()
    record(session, actor=bank_user, action="loan.proposed", entity_type="loan", entity_id=loan.id, now=now,
           after={**snapshot(loan, LOAN_FIELDS), "assets": list(asset_ids), "policy": policy.code,
                  "benchmark_rate": loan.benchmark_rate, "rate_within_cap": plan.eligible})
    return loan


def proposed_assets(session: Session, loan: Loan) -> list[IpAsset]:
    """The assets a pending loan asks the enterprise to pledge (for its confirmation page)."""
    ids = (loan.proposal or {}).get("asset_ids", [])
    return [a for a in (session.get(IpAsset, i) for i in ids) if a is not None]


def _own_pending_loan(session: Session, actor, loan_id: int) -> Loan:
    _require(actor, Role.ENTERPRISE, Role.BANK)
    loan = get_loan(session, loan_id)
    own = loan.enterprise_org_id if actor.role is Role.ENTERPRISE else loan.bank_org_id
    if own != actor.organisation_id:
        raise NotFound("This loan does not exist.")
    return loan


def _leave_pending(session: Session, loan: Loan, status: LoanStatus, values: dict) -> None:
    """Compare-and-set pending → `status`: of two decisions at once (a double click, confirm against decline) only
    the first changes the row; the second sees 0 rows and is refused."""
    changed = session.execute(
        update(Loan).where(Loan.id == loan.id, Loan.status == LoanStatus.PENDING)
        .values(status=status, **values).execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("This loan no longer waits for the enterprise's confirmation.")
    session.refresh(loan)


def confirm_loan(session: Session, enterprise_user, loan_id: int, now: datetime) -> Loan:
    """The enterprise confirms a loan its bank recorded: the loan takes effect and its assets are pledged (checked
    again: still the enterprise's, granted, eligible and free). The consent is kept on the loan and audited."""
    loan = _own_pending_loan(session, enterprise_user, loan_id)
    if enterprise_user.role is not Role.ENTERPRISE:
        raise Forbidden("Only the enterprise can confirm its loan.")
    before = snapshot(loan, LOAN_FIELDS)
    proposal = dict(loan.proposal or {})
    _leave_pending(session, loan, LoanStatus.ACTIVE, {"consent": Consent.CONFIRMED, "consented_at": now,
                                                      "consented_by_id": enterprise_user.id})
    assets = _pledgeable_assets(session, loan.enterprise, loan.policy, list(proposal.get("asset_ids", [])))
    _write_pledges(session, loan, assets, proposal.get("registration_number", ""),
                   date.fromisoformat(proposal.get("registered_on") or loan.signed_on.isoformat()), now)
    record(session, actor=enterprise_user, action="loan.confirmed", entity_type="loan", entity_id=loan.id, now=now,
           before=before, after={**snapshot(loan, LOAN_FIELDS), "consent": loan.consent.value,
                                 "assets": [a.id for a in assets]})
    return loan


def decline_loan(session: Session, actor, loan_id: int, now: datetime) -> Loan:
    """The enterprise refuses a loan its bank recorded (or the bank withdraws it) while it is pending: nothing was
    pledged and nothing will be."""
    loan = _own_pending_loan(session, actor, loan_id)
    before = snapshot(loan, LOAN_FIELDS)
    _leave_pending(session, loan, LoanStatus.DECLINED, {"closed_at": now})
    action = "loan.declined" if actor.role is Role.ENTERPRISE else "loan.withdrawn"
    record(session, actor=actor, action=action, entity_type="loan", entity_id=loan.id, now=now, before=before,
           after=snapshot(loan, LOAN_FIELDS))
    return loan


def offer_for_signing(session: Session, bank_user, offer_id: int):
    """The accepted market.needs Offer of the actor's bank that can still become a loan (for the signing page)."""
    from market.needs.models import NeedStatus, Offer, OfferStatus

    _require(bank_user, Role.BANK)
    offer = session.get(Offer, offer_id)
    if offer is None or offer.bank_org_id != bank_user.organisation_id:
        raise NotFound("This offer does not exist.")
    if offer.status is not OfferStatus.ACCEPTED:
        raise Conflict("Only an offer the enterprise accepted can become a loan.")
    if loan_of_offer(session, offer.id) is not None:
        raise Conflict("A loan was already signed from this offer.")
    if offer.need.status is not NeedStatus.IN_TALKS:
        raise Conflict("The need of this offer is no longer in talks.")
    return offer


def loan_of_offer(session: Session, offer_id: int) -> Loan | None:
    return session.scalar(select(Loan).where(Loan.offer_id == offer_id).order_by(Loan.id).limit(1))


def loan_of_need(session: Session, need) -> Loan | None:
    """The loan signed from the accepted offer of a market.needs Need, if any."""
    offer_ids = [o.id for o in need.offers]
    if not offer_ids:
        return None
    return session.scalar(select(Loan).where(Loan.offer_id.in_(offer_ids)).order_by(Loan.id).limit(1))


def sign_loan_from_offer(session: Session, bank_user, offer_id: int, *, signed_on: date, now: datetime,
                         registration_number: str, registered_on: date | None = None,
                         repayment_method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL,
                         guarantor_org_id: int | None = None, guarantee_coverage=0, guarantee_premium=0,
                         insurer_org_id: int | None = None, insurance_coverage=0, insurance_premium=0,
                         collateral_text: str | None = None) -> Loan:
    """Sign the loan of an accepted market.needs Offer: the principal, rate and term are the offer's, the pledged
    assets are the need's, the enterprise is the need's owner. The need becomes funded
    (`market.needs.docking.mark_funded`). All or nothing: a refusal (an asset pledged meanwhile, a second signing of
    the same offer, ...) leaves nothing written, even inside the caller's transaction (a savepoint)."""
    from market.needs.docking import mark_funded

    offer = offer_for_signing(session, bank_user, offer_id)
    need = offer.need
    if offer.decided_at is not None and signed_on is not None and signed_on < offer.decided_at.date():
        raise InvalidInput("The signing date cannot precede the day the enterprise accepted the offer (%(day)s).",
                           day=offer.decided_at.date().isoformat())
    registration_number = (registration_number or "").strip()
    with session.begin_nested():
        loan, assets, policy, plan = _new_loan(
            session, bank_user, enterprise_org_id=need.org_id, principal=offer.amount, annual_rate=offer.annual_rate,
            term_months=offer.term_months, asset_ids=list(need.asset_ids), signed_on=signed_on, now=now,
            registration_number=registration_number, repayment_method=repayment_method,
            guarantor_org_id=guarantor_org_id, guarantee_coverage=guarantee_coverage,
            guarantee_premium=guarantee_premium, insurer_org_id=insurer_org_id,
            insurance_coverage=insurance_coverage, insurance_premium=insurance_premium,
            collateral_text=(collateral_text or "").strip() or need.tangible_collateral, offer_id=offer.id,
            status=LoanStatus.ACTIVE)
        # The enterprise accepted this offer on its own need, which lists the assets: that is its consent.
        loan.consent, loan.consented_at = Consent.OFFER, offer.decided_at or now
        _write_pledges(session, loan, assets, registration_number, registered_on or signed_on, now)
        record(session, actor=bank_user, action="loan.signed", entity_type="loan", entity_id=loan.id, now=now,
               after={**snapshot(loan, LOAN_FIELDS), "assets": [a.id for a in assets], "policy": policy.code,
                      "benchmark_rate": loan.benchmark_rate, "rate_within_cap": plan.eligible,
                      "consent": Consent.OFFER.value})
        mark_funded(session, bank_user, need.id, now)
        record(session, actor=bank_user, action="loan.signed_from_offer", entity_type="loan", entity_id=loan.id,
               now=now, after={"offer_id": offer.id, "need_id": need.id, "assets": list(need.asset_ids)})
        notify(session, msgid="The loan for your financing need “%(title)s” was signed.", now=now,
               org_id=need.org_id, link=f"/needs/{need.id}", title=need.title)
    return loan


# ------------------------------------------------------------------------------------------------ repayments

def _release_pledges(session: Session, loan: Loan, now: datetime) -> None:
    for pledge in loan.pledges:
        if pledge.active:
            pledge.active = False
            pledge.released_at = now
            if pledge.asset.pledge_state is PledgeState.PLEDGED:
                pledge.asset.pledge_state = PledgeState.FREE
                pledge.asset.updated_at = now
    session.flush()


def record_repayment(session: Session, bank_user, loan_id: int, *, paid_on: date, principal, interest,
                     now: datetime) -> Repayment:
    """Record a repayment. The loan's row lock comes first: 30 full repayments at once queue, and each judges the
    outstanding principal the ones before it left (one is recorded, the rest refused)."""
    loan = _own_bank_loan(session, bank_user, loan_id)
    if loan.status not in OPEN_STATUSES:
        raise Conflict("Repayments can only be recorded on an active or overdue loan.")
    principal = money(as_decimal(principal, "principal"))
    interest = money(as_decimal(interest, "interest"))
    if principal < 0 or interest < 0 or (principal == 0 and interest == 0):
        raise InvalidInput("A repayment needs a positive principal or interest.")
    if principal > outstanding_principal(loan):
        raise InvalidInput("The principal repaid exceeds the outstanding principal.")
    if paid_on < loan.signed_on:
        raise InvalidInput("A repayment cannot precede the signing date.")
    repayment = Repayment(loan=loan, paid_on=paid_on, principal=principal, interest=interest,
                          recorded_by_id=bank_user.id, created_at=now)
    session.add(repayment)
    session.flush()
    record(session, actor=bank_user, action="loan.repayment", entity_type="loan", entity_id=loan.id, now=now,
           after={"paid_on": paid_on, "principal": principal, "interest": interest})
    if outstanding_principal(loan) == 0:
        _set_status(session, bank_user, loan, LoanStatus.REPAID, now, "loan.repaid")
        _release_pledges(session, loan, now)
    elif loan.status is LoanStatus.OVERDUE and not is_overdue(loan, paid_on):
        _set_status(session, bank_user, loan, LoanStatus.ACTIVE, now, "loan.cured")
    return repayment


# ------------------------------------------------------------------------------------------------ monitoring

def _raise_flag(session: Session, loan: Loan, pledge: Pledge, reason: str, now: datetime) -> bool:
    exists = session.scalar(select(WatchFlag.id).where(WatchFlag.pledge_id == pledge.id, WatchFlag.reason == reason))
    if exists:
        return False
    session.add(WatchFlag(loan_id=loan.id, pledge_id=pledge.id, asset_id=pledge.asset_id, reason=reason,
                          raised_at=now))
    session.flush()
    title = pledge.asset.title
    msg = "A pledged asset of loan %(loan)s changed: %(title)s (%(reason)s)."
    link = f"/loans/{loan.id}"
    notify(session, msgid=msg, now=now, org_id=loan.bank_org_id, link=link, loan=loan.id, title=title, reason=reason)
    notify(session, msgid=msg, now=now, role=Role.STAFF.value, link=link, loan=loan.id, title=title, reason=reason)
    return True


def watch_reasons(loan: Loan, pledge: Pledge) -> list[str]:
    asset = pledge.asset
    reasons = []
    if asset.legal_status in BAD_STATUSES:
        reasons.append(BAD_STATUSES[asset.legal_status])
    if asset.owner_org_id != loan.enterprise_org_id:
        reasons.append("transferred")
    if asset.frozen:
        reasons.append("frozen")
    return reasons


def tick(session: Session, today: date, now: datetime) -> dict[str, int]:
    """Daily post-loan run: overdue detection (and cure), watch flags for pledged assets. Idempotent."""
    counts = {"overdue": 0, "cured": 0, "flags": 0}
    loans = session.scalars(select(Loan).where(Loan.status.in_(
        [LoanStatus.ACTIVE, LoanStatus.OVERDUE, LoanStatus.DEFAULTED, LoanStatus.IN_DISPOSAL]))).all()
    for loan in loans:
        if loan.status is LoanStatus.ACTIVE and is_overdue(loan, today):
            _set_status(session, None, loan, LoanStatus.OVERDUE, now, "loan.overdue")
            counts["overdue"] += 1
            msg = "Loan %(loan)s is overdue by %(amount)s."
            amount = amount_overdue(loan, today)
            notify(session, msgid=msg, now=now, org_id=loan.bank_org_id, link=f"/loans/{loan.id}", loan=loan.id,
                   amount=amount)
            notify(session, msgid=msg, now=now, role=Role.STAFF.value, link=f"/loans/{loan.id}", loan=loan.id,
                   amount=amount)
            notify(session, msgid=N_("Your loan %(loan)s is overdue by %(amount)s: repay it."), now=now, org_id=loan.enterprise_org_id, link=f"/loans/{loan.id}", loan=loan.id, amount=amount)  # noqa: E501
        elif loan.status is LoanStatus.OVERDUE and not is_overdue(loan, today):
            _set_status(session, None, loan, LoanStatus.ACTIVE, now, "loan.cured")
            counts["cured"] += 1
        for pledge in loan.pledges:
            if pledge.active:
                for reason in watch_reasons(loan, pledge) + valuation_reasons(session, loan, pledge, today):
                    counts["flags"] += _raise_flag(session, loan, pledge, reason, now)
    return counts


VALUATION_WARNING_DAYS = 30


def valuation_reasons(session: Session, loan: Loan, pledge: Pledge, today: date,
                      warning_days: int = VALUATION_WARNING_DAYS) -> list[str]:
    """Watch the valuation reports of a pledged asset (market.valuations): "valuation_expiring" when the report in
    force ends within `warning_days` days and before the loan matures; "valuation_expired" when the asset has
    reports but none is in force any more. Nothing when the valuations area is absent or the asset has no report."""
    from datetime import timedelta

    try:
        from market.valuations.service import latest_valuation, valuations_for_asset
    except ImportError:  # pragma: no cover - the valuations area is optional
        return []
    if loan.status not in OPEN_STATUSES:
        return []
    current = latest_valuation(session, pledge.asset_id, today)
    if current is None:
        return ["valuation_expired"] if valuations_for_asset(session, pledge.asset_id) else []
    if current.valid_until <= today + timedelta(days=warning_days) and current.valid_until < loan.maturity:
        return ["valuation_expiring"]
    return []


# ------------------------------------------------------------------------------------------------ default, disposal

REASON_MAX = 500


def _reason(reason: str | None, what: str = "Give the reason.") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(what)
    if len(reason) > REASON_MAX:
        raise InvalidInput("The reason is too long (at most %(max)s characters).", max=REASON_MAX)
    return reason


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


def _mark_default(session: Session, actor, loan: Loan, basis: DefaultBasis, reason: str, facts: OverdueFacts,
                  now: datetime, **extra) -> Loan:
    """Compare-and-set an open loan → defaulted with its basis, reason and the overdue facts of the day."""
    LOAN_STATES.check(loan.status, LoanStatus.DEFAULTED)
    before = snapshot(loan, LOAN_FIELDS)
    changed = session.execute(
        update(Loan).where(Loan.id == loan.id, Loan.status.in_(OPEN_STATUSES))
        .values(status=LoanStatus.DEFAULTED, defaulted_on=now.date(), default_basis=basis, default_reason=reason,
                default_facts=facts.as_dict(), **extra).execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("This loan is no longer active or overdue.")
    session.refresh(loan)
    record(session, actor=actor, action="loan.defaulted", entity_type="loan", entity_id=loan.id, now=now,
           before=before, after={**snapshot(loan, LOAN_FIELDS), "basis": basis.value, "reason": reason,
                                 "facts": facts.as_dict()})
    notify(session, msgid="The bank declared loan %(loan)s in default; its pledges await disposal.", now=now,
           role=Role.STAFF.value, link=f"/loans/{loan.id}", loan=loan.id)
    notify(session, msgid=N_("The bank declared your loan %(loan)s in default; its pledged IP will be disposed of."), now=now, org_id=loan.enterprise_org_id, link=f"/loans/{loan.id}", loan=loan.id)  # noqa: E501
    return loan


def declare_default(session: Session, bank_user, loan_id: int, now: datetime, reason: str | None = None) -> Loan:
    """The bank declares its loan in default, with a reason, when an instalment has been overdue for more than the
    grace period of the loan's policy (90 days in the 2015 version). Earlier, only exchange staff can confirm a
    default the bank asks for (`request_default`, `confirm_default`)."""
    loan = _own_bank_loan(session, bank_user, loan_id)
    reason = _reason(reason, "Give the reason for the default.")
    LOAN_STATES.check(loan.status, LoanStatus.DEFAULTED)
    facts = overdue_facts(loan, now.date())
    if not facts.past_grace:
        raise Conflict("No instalment is more than %(days)s days overdue (the grace period of the policy; "
                       "%(amount)s overdue now): ask exchange staff to confirm the default, with your reason.",
                       days=facts.grace_days, amount=facts.amount_overdue)
    return _mark_default(session, bank_user, loan, DefaultBasis.OVERDUE, reason, facts, now)


def request_default(session: Session, bank_user, loan_id: int, now: datetime, reason: str | None = None) -> Loan:
    """The bank asks exchange staff to confirm a default before the grace period has run (the enterprise stopped
    trading, fraud, ...): the loan stays as it is until staff decide."""
    loan = _own_bank_loan(session, bank_user, loan_id)
    reason = _reason(reason, "Give the reason for the default.")
    LOAN_STATES.check(loan.status, LoanStatus.DEFAULTED)
    changed = session.execute(
        update(Loan).where(Loan.id == loan.id, Loan.status.in_(OPEN_STATUSES), Loan.default_requested_at.is_(None))
        .values(default_requested_at=now, default_request_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("A default request for this loan already waits for staff.")
    session.refresh(loan)
    record(session, actor=bank_user, action="loan.default_requested", entity_type="loan", entity_id=loan.id,
           now=now, after={"reason": reason, "facts": overdue_facts(loan, now.date()).as_dict()})
    return loan


def _requested_loan(session: Session, staff, loan_id: int) -> Loan:
    _require(staff, Role.STAFF)
    loan = get_loan(session, loan_id)
    if loan.default_requested_at is None or loan.status not in OPEN_STATUSES:
        raise Conflict("No default request of the bank waits on this loan.")
    return loan


def confirm_default(session: Session, staff, loan_id: int, now: datetime, reason: str | None = None) -> Loan:
    """Exchange staff confirm the default the bank asked for, with their own reason (audited with the bank's)."""
    loan = _requested_loan(session, staff, loan_id)
    reason = _reason(reason, "Give the reason for confirming the default.")
    facts = overdue_facts(loan, now.date())
    return _mark_default(session, staff, loan, DefaultBasis.STAFF, reason, facts, now,
                         default_confirmed_by_id=staff.id)


def refuse_default(session: Session, staff, loan_id: int, now: datetime, reason: str | None = None) -> Loan:
    """Exchange staff refuse the bank's default request, with a reason: the loan goes on as before."""
    loan = _requested_loan(session, staff, loan_id)
    reason = _reason(reason, "Give the reason for refusing the default.")
    request = {"requested_at": loan.default_requested_at, "request_reason": loan.default_request_reason}
    changed = session.execute(
        update(Loan).where(Loan.id == loan.id, Loan.default_requested_at.is_not(None), Loan.status.in_(OPEN_STATUSES))
        .values(default_requested_at=None, default_request_reason=None).execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("No default request of the bank waits on this loan.")
    session.refresh(loan)
    record(session, actor=staff, action="loan.default_refused", entity_type="loan", entity_id=loan.id, now=now,
           before=request, after={"reason": reason})
    return loan


def default_requests(session: Session) -> list[Loan]:
    return list(session.scalars(select(Loan).where(Loan.default_requested_at.is_not(None),
                                                   Loan.status.in_(OPEN_STATUSES))
                                .order_by(Loan.default_requested_at, Loan.id)))


def start_disposal(session: Session, actor, loan_id: int, now: datetime) -> Loan:
    """Called when the exchange lists the pledged assets of a defaulted loan."""
    loan = get_loan(session, loan_id)
    if actor is not None and actor.role is not Role.STAFF and actor.organisation_id != loan.bank_org_id:
        raise Forbidden("Your role cannot do this.")
    _set_status(session, actor, loan, LoanStatus.IN_DISPOSAL, now, "loan.in_disposal")
    for pledge in loan.pledges:
        if pledge.active:
            pledge.asset.pledge_state = PledgeState.IN_DISPOSAL
            pledge.asset.updated_at = now
    session.flush()
    return loan


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


# ------------------------------------------------------------------------------------------------ claims

@dataclass(frozen=True)
class ClaimBreakdown:
    """How a claim's compensation follows from the loan, step by step (the claim page shows each line):
    loss = outstanding principal − recovery; the guarantor and the insurer carry their coverage of the loss; the
    bank's remaining principal loss is compensated min(rate × bank loss, cap) when the loan's rate was within the
    cap of its policy, else nothing."""

    outstanding: Decimal
    recovery: Decimal
    loss: Decimal
    guarantee_coverage: Decimal
    guarantor: Decimal
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


def claim_breakdown(loan: Loan, recovery: Decimal, outstanding: Decimal | None = None) -> ClaimBreakdown:
    policy = loan.policy
    outstanding = outstanding_principal(loan) if outstanding is None else money(outstanding)
    recovery = money(recovery)
    loss = max(outstanding - recovery, ZERO)
    guarantor = money(loss * Decimal(loan.guarantee_coverage))
    insurer = money(loss * Decimal(loan.insurance_coverage))
    bank_loss = max(loss - guarantor - insurer, ZERO)
    before_cap = money(bank_loss * Decimal(policy.compensation_rate))
    reasons = rate_reasons(policy, Decimal(loan.annual_rate), Decimal(loan.benchmark_rate))
    if reasons:
        amount, reason, params = ZERO, reasons[0].message, reasons[0].params
    elif bank_loss == 0:
        amount, reason, params = ZERO, "There is no principal loss to compensate.", {}
    else:
        amount, reason, params = min(before_cap, money(policy.compensation_cap)), None, None
    return ClaimBreakdown(outstanding=outstanding, recovery=recovery, loss=loss,
                          guarantee_coverage=Decimal(loan.guarantee_coverage), guarantor=guarantor,
                          insurance_coverage=Decimal(loan.insurance_coverage), insurer=insurer, bank_loss=bank_loss,
                          compensation_rate=Decimal(policy.compensation_rate), before_cap=before_cap,
                          cap=money(policy.compensation_cap), compensation=amount, reason=reason,
                          reason_params=params)


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
        loss=b.loss, guarantor_share=b.guarantor, insurer_share=b.insurer, bank_loss=b.bank_loss,
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
    reasons = rate_reasons(claim.loan.policy, Decimal(loan.annual_rate), Decimal(loan.benchmark_rate))
    from market.loans.policy import pct, rate_cap

    checks.append(Check("rate", not reasons, "Rate: %(rate)s against the cap of %(cap)s (benchmark %(benchmark)s).",
                        {"rate": pct(Decimal(loan.annual_rate)), "benchmark": pct(Decimal(loan.benchmark_rate)),
                         "cap": pct(rate_cap(loan.policy, Decimal(loan.benchmark_rate)))}))
    expected = claim_breakdown(loan, claim.recovery, outstanding_principal(loan))
    same = (money(claim.outstanding_principal), money(claim.loss), money(claim.guarantor_share),
            money(claim.insurer_share), money(claim.bank_loss), money(claim.compensation)) == (
        expected.outstanding, expected.loss, expected.guarantor, expected.insurer, expected.bank_loss,
        expected.compensation)
    checks.append(Check("amounts", same and expected.compensation <= expected.cap,
                        "Amounts: outstanding %(outstanding)s − recovery %(recovery)s = loss %(loss)s; the rules "
                        "give a compensation of %(expected)s, the claim asks %(claimed)s.",
                        {"outstanding": expected.outstanding, "recovery": expected.recovery, "loss": expected.loss,
                         "expected": expected.compensation, "claimed": money(claim.compensation)}))
    return checks


def verify_recovery(session: Session, staff, claim_id: int, now: datetime) -> CompensationClaim:
    """Staff verified the evidence of a declared recovery (audited); the claim may then be approved."""
    _require(staff, Role.STAFF)
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


def end_after_claim(session: Session, actor, claim: CompensationClaim, now: datetime) -> LoanStatus | None:
    """End the claim's defaulted loan once the claim is final (paid, rejected or not covered): `closed` when the
    recovery covered the outstanding principal (no loss), else `written_off` (the loss less what the guarantor,
    insurer and fund carried stays with the bank). Audited as loan.closed / loan.written_off with `closed_at`.
    Returns the new status, or None when the claim still waits or the loan is not in default any more."""
    loan = claim.loan
    if claim.status in (CompensationStatus.SUBMITTED, CompensationStatus.APPROVED):
        return None
    if loan.status not in (LoanStatus.DEFAULTED, LoanStatus.IN_DISPOSAL):
        return None
    status = LoanStatus.CLOSED if Decimal(claim.loss) == 0 else LoanStatus.WRITTEN_OFF
    LOAN_STATES.check(loan.status, status)
    before = snapshot(loan, LOAN_FIELDS + ["closed_at"])
    loan.status = status
    loan.closed_at = now
    session.flush()
    record(session, actor=actor, action=f"loan.{status.value}", entity_type="loan", entity_id=loan.id, now=now,
           before=before, after={**snapshot(loan, LOAN_FIELDS + ["closed_at"]), "claim": claim.id,
                                 "claim_status": claim.status.value, "recovery": claim.recovery,
                                 "loss": claim.loss, "compensation": claim.compensation})
    return status


def loan_claim(session: Session, loan_id: int) -> CompensationClaim | None:
    return session.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == loan_id))


def get_claim(session: Session, claim_id: int) -> CompensationClaim:
    claim = session.get(CompensationClaim, claim_id)
    if claim is None:
        raise NotFound("This claim does not exist.")
    return claim


def _locked_claim(session: Session, claim_id: int) -> CompensationClaim:
    """The claim read under its row lock (the write lock on SQLite): two decisions at once queue, and the second
    sees the first's outcome (a claim is never both paid and rejected)."""
    session.execute(update(CompensationClaim).where(CompensationClaim.id == claim_id)
                    .values(status=CompensationClaim.status).execution_options(synchronize_session=False))
    claim = get_claim(session, claim_id)
    session.refresh(claim)
    return claim


def approve_claim(session: Session, staff, claim_id: int, now: datetime) -> CompensationClaim:
    """Staff approve a submitted claim when every fact of its checklist holds (`claim_checklist`); approved claims
    are paid from the fund in order of approval."""
    _require(staff, Role.STAFF)
    claim = _locked_claim(session, claim_id)
    if claim.status is not CompensationStatus.SUBMITTED:
        raise Conflict("Only a submitted claim can be approved.")
    failing = [c.code for c in claim_checklist(session, claim) if not c.ok]
    if failing:
        raise Conflict("The claim cannot be approved while a fact of its checklist fails (%(facts)s): see the "
                       "claim page.", facts=", ".join(failing))
    before = snapshot(claim, CLAIM_FIELDS)
    claim.status = CompensationStatus.APPROVED
    claim.approved_at = now
    claim.approved_by_id = staff.id
    session.flush()
    record(session, actor=staff, action="claim.approved", entity_type="claim", entity_id=claim.id, now=now,
           before=before, after=snapshot(claim, CLAIM_FIELDS))
    notify(session, msgid=N_("Your compensation claim for loan %(loan)s was approved; it is paid in order."), now=now, org_id=claim.loan.bank_org_id, link=f"/loans/{claim.loan_id}", loan=claim.loan_id)  # noqa: E501
    pay_queue(session, now)
    return claim


def reject_claim(session: Session, staff, claim_id: int, now: datetime, reason: str | None = None
                 ) -> CompensationClaim:
    """Staff reject a submitted claim, with the reason (kept on the claim, shown to the bank, audited)."""
    _require(staff, Role.STAFF)
    reason = _reason(reason, "Give the reason for rejecting the claim.")
    claim = _locked_claim(session, claim_id)
    if claim.status is not CompensationStatus.SUBMITTED:
        raise Conflict("Only a submitted claim can be rejected.")
    before = snapshot(claim, CLAIM_FIELDS)
    claim.status = CompensationStatus.REJECTED
    claim.decision_reason = reason
    session.flush()
    record(session, actor=staff, action="claim.rejected", entity_type="claim", entity_id=claim.id, now=now,
           before=before, after={**snapshot(claim, CLAIM_FIELDS), "reason": reason})
    notify(session, msgid=N_("Your compensation claim for loan %(loan)s was rejected."), now=now, org_id=claim.loan.bank_org_id, link=f"/loans/{claim.loan_id}", loan=claim.loan_id)  # noqa: E501
    end_after_claim(session, staff, claim, now)
    return claim


def waiting_claims(session: Session) -> list[CompensationClaim]:
    return list(session.scalars(select(CompensationClaim).where(CompensationClaim.status == CompensationStatus.APPROVED)
                                .order_by(CompensationClaim.approved_at, CompensationClaim.id)))


def pay_claim(session: Session, claim: CompensationClaim, now: datetime) -> bool:
    """Pay one approved claim from the fund. Idempotent: a paid claim is not paid again (status compare-and-set plus
    the unique ledger reference); returns False when the fund is short (the claim keeps waiting)."""
    if claim.status is CompensationStatus.PAID:
        return False
    if claim.status is not CompensationStatus.APPROVED:
        raise Conflict("Only an approved claim can be paid.")
    ensure_fund(session, now)
    if not _debit_fund(session, claim.compensation):
        return False
    changed = session.execute(
        update(CompensationClaim)
        .where(CompensationClaim.id == claim.id, CompensationClaim.status == CompensationStatus.APPROVED)
        .values(status=CompensationStatus.PAID, paid_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:  # paid meanwhile by someone else: give the money back
        _credit_fund(session, claim.compensation)
        session.refresh(claim)
        return False
    _post(session, f"claim:{claim.id}", "compensation", claim.compensation, LedgerAccount.COMPENSATION_PAID,
          f"Compensation for loan {claim.loan_id}", None, now)
    session.refresh(claim)
    record(session, actor=None, action="claim.paid", entity_type="claim", entity_id=claim.id, now=now,
           after=snapshot(claim, CLAIM_FIELDS))
    end_after_claim(session, None, claim, now)
    loan = claim.loan
    notify(session, msgid="Compensation of %(amount)s for loan %(loan)s was paid.", now=now,
           org_id=loan.bank_org_id, link=f"/loans/{loan.id}", amount=claim.compensation, loan=loan.id)
    return True


def pay_queue(session: Session, now: datetime) -> int:
    """Pay approved claims strictly in order of approval (FIFO); stop at the first the fund cannot cover."""
    paid = 0
    for claim in waiting_claims(session):
        if not pay_claim(session, claim, now):
            break
        paid += 1
    return paid


# ------------------------------------------------------------------------------------------------ fund ledger

def ensure_fund(session: Session, now: datetime) -> Fund:
    """The fund row; on first use it is opened with the ¥25,000,000 contribution of the municipal science fund."""
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


def fund_balance(session: Session, now: datetime) -> Decimal:
    return money(ensure_fund(session, now).balance)


def account_balance(session: Session, account: LedgerAccount) -> Decimal:
    from sqlalchemy import func

    total = session.scalar(select(func.coalesce(func.sum(LedgerLine.amount), 0)).where(LedgerLine.account == account))
    return money(Decimal(total))


def contribute(session: Session, staff, amount, now: datetime, memo: str | None = None) -> LedgerTxn:
    """Staff top up the fund; waiting claims are then paid in order."""
    _require(staff, Role.STAFF)
    amount = money(as_decimal(amount, "amount"))
    if amount <= 0:
        raise InvalidInput("A contribution must be positive.")
    ensure_fund(session, now)
    fund = lock_row(session, Fund, FUND_ID)  # two top-ups at once: each judges the balance the other committed
    if fund.balance + amount > MAX_BALANCE:
        raise InvalidInput("The fund balance cannot exceed %(max)s.", max=MAX_BALANCE)
    _credit_fund(session, amount)
    txn = _post(session, f"contribution:{uuid.uuid4().hex}", "contribution", amount, LedgerAccount.FUND_CONTRIBUTIONS,
                memo or "Top-up", staff, now)
    record(session, actor=staff, action="fund.contribution", entity_type="fund", entity_id=FUND_ID, now=now,
           after={"amount": amount, "memo": memo})
    pay_queue(session, now)
    return txn


def running_balances(session: Session, txn_ids: list[int]) -> dict[int, Decimal]:
    """The fund's cash balance right after each of the given ledger transactions (for the ledger page)."""
    from sqlalchemy import func

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
    _require(staff, Role.STAFF)
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


# ------------------------------------------------------------------------------------------------ API read helpers

def claim_for(session: Session, actor, claim_id: int) -> CompensationClaim:
    """A claim its loan's bank or staff may see; anyone else is told it does not exist."""
    claim = session.get(CompensationClaim, claim_id)
    if claim is None or actor is None:
        raise NotFound("This claim does not exist.")
    if actor.role is Role.STAFF:
        return claim
    if actor.role is Role.BANK and actor.organisation_id is not None \
            and claim.loan.bank_org_id == actor.organisation_id:
        return claim
    raise NotFound("This claim does not exist.")


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
