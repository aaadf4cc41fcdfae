"""Signing loans with pledges: a bank's proposal the enterprise confirms or declines, or the loan of an accepted
offer of a financing need (its acceptance is the consent)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import LazyString, gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, OrgKind, Role
from market.audit.service import record, snapshot
from market.db import lock_row
from market.errors import Conflict, DomainError, InvalidInput, NotFound
from market.ip import register
from market.ip.models import IpAsset
from market.ip.service import pledgeable
from market.loans.access import get_loan, may_see
from market.loans.models import Consent, Loan, LoanStatus, Pledge, RepaymentMethod
from market.loans.regional import check_model, record_model
from market.loans.schedule import add_months
from market.loans.states import LOAN, LOAN_FIELDS
from market.needs.docking import mark_funded
from market.needs.models import NeedStatus, Offer, OfferStatus
from market.notices.service import notify
from market.policy.plan import evaluate_plan
from market.policy.rules import as_decimal, money
from market.policy.service import accepted_kinds, policy_in_force, rate_on
from market.security import require


def _org(session: Session, org_id: int | None, kind: OrgKind, what: str) -> Organisation | None:
    if org_id is None:
        return None
    org = session.get(Organisation, org_id)
    if org is None or org.kind is not kind:
        raise InvalidInput("The %(what)s is not a known organisation of that kind.", what=what)
    if not org.is_verified:
        raise InvalidInput("The %(what)s is not verified.", what=what)
    return org


def _pledgeable_assets(session: Session, enterprise: Organisation, policy, asset_ids: list[int], *,
                       signed_on: date, term_months: int) -> list[IpAsset]:
    """The assets, each belonging to the enterprise and pledgeable for the loan by the one rule of the registry
    (`market.ip.service.pledgeable`: a kind the loan's policy accepts, a right in force, free, not frozen, a remaining
    life of at least the loan's term from its signing); refused otherwise, with the rule's reasons."""
    if not asset_ids:
        raise InvalidInput("A loan needs at least one pledged IP asset.")
    if len(set(asset_ids)) != len(asset_ids):
        raise InvalidInput("An asset is listed twice.")
    kinds = accepted_kinds(policy)
    assets = []
    for asset_id in asset_ids:
        asset = session.get(IpAsset, asset_id)
        if asset is None or asset.owner_org_id != enterprise.id:
            raise InvalidInput("Asset %(id)s does not belong to the enterprise.", id=asset_id)
        result = pledgeable(asset, today=signed_on, term_months=int(term_months), eligible_kinds=kinds)
        if not result:
            reasons = LazyString(lambda reasons=result.reasons: " ".join(gettext(r) for r in reasons))
            raise (Conflict if result.busy else InvalidInput)("Asset %(id)s cannot be pledged: %(reasons)s",
                                                               id=asset_id, reasons=reasons)
        assets.append(asset)
    return assets


def _write_pledges(session: Session, actor, loan: Loan, assets: list[IpAsset], registration_number: str,
                   registered_on: date, now: datetime) -> None:
    """Pledge the assets for the loan through the pledge register (each asset's row lock, then free → pledged: the
    second of two racing signings is refused) and the partial unique index (one active pledge per asset)."""
    register.pledge(session, actor, assets, now, note=f"loan {loan.id}")
    try:
        for asset in assets:
            session.add(Pledge(loan_id=loan.id, asset_id=asset.id, registration_number=registration_number,
                               registered_on=registered_on, active=True))
        session.flush()
    except IntegrityError as exc:
        raise Conflict("One of the assets is already pledged for another loan.") from exc


def _new_loan(session: Session, bank_user, *, enterprise_org_id: int, principal, annual_rate, term_months: int,
              asset_ids: list[int], signed_on: date, now: datetime, registration_number: str,
              repayment_method: RepaymentMethod, guarantor_org_id: int | None, guarantee_coverage,
              guarantee_premium, insurer_org_id: int | None, insurance_coverage, insurance_premium,
              collateral_text: str | None, offer_id: int | None, status: LoanStatus, model: dict | None = None):
    """Validate the terms (and the loan's regional model, `market.loans.regional`) and add the loan row (no pledge
    yet). Returns (loan, assets, policy, plan)."""
    require(bank_user, Role.BANK)
    enterprise = _org(session, enterprise_org_id, OrgKind.ENTERPRISE, "enterprise")
    _org(session, guarantor_org_id, OrgKind.GUARANTOR, "guarantor")
    _org(session, insurer_org_id, OrgKind.INSURER, "insurer")
    if guarantor_org_id is None and (Decimal(str(guarantee_coverage)) or Decimal(str(guarantee_premium))):
        raise InvalidInput("A guarantee needs a guarantor.")
    if insurer_org_id is None and (Decimal(str(insurance_coverage)) or Decimal(str(insurance_premium))):
        raise InvalidInput("An insurance needs an insurer.")
    if not (registration_number or "").strip():
        raise InvalidInput("The pledge registration number is required.")
    terms, model_columns, collateral = check_model(
        session, model, bank_org_id=bank_user.organisation_id, enterprise_org_id=enterprise.id,
        guarantor_org_id=guarantor_org_id, guarantee_coverage=guarantee_coverage,
        guarantee_premium=guarantee_premium, signed_on=signed_on, now=now)
    policy = policy_in_force(session, signed_on)
    benchmark = rate_on(session, policy.rate_benchmark_kind, signed_on)
    plan = evaluate_plan(policy, principal, annual_rate, benchmark, term_months, guarantee_coverage,
                         guarantee_premium, insurance_coverage, insurance_premium, loan_model=terms.model,
                         counter_guarantee_share=terms.counter_guarantee_share,
                         counter_by_enterprise=terms.counter_by_enterprise, recommended_on=terms.recommended_on,
                         collateral_value=terms.collateral_value, signed_on=signed_on)
    assets = _pledgeable_assets(session, enterprise, policy, asset_ids, signed_on=signed_on,
                                term_months=term_months)
    loan = Loan(
        bank_org_id=bank_user.organisation_id, enterprise_org_id=enterprise.id, policy_id=policy.id,
        principal=money(as_decimal(principal, "principal")), annual_rate=as_decimal(annual_rate, "annual_rate"),
        benchmark_rate=benchmark, rate_within_cap=not any(r.code == "rate_above_cap" for r in plan.reasons),
        term_months=int(term_months),
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
    record_model(session, bank_user, loan, model_columns, collateral, now)
    return loan, assets, policy, plan


def sign_loan(session: Session, bank_user, *, enterprise_org_id: int, principal, annual_rate, term_months: int,
              asset_ids: list[int], signed_on: date, now: datetime, registration_number: str,
              registered_on: date | None = None, repayment_method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL,
              guarantor_org_id: int | None = None, guarantee_coverage=0, guarantee_premium=0,
              insurer_org_id: int | None = None, insurance_coverage=0, insurance_premium=0,
              collateral_text: str | None = None, model: dict | None = None) -> Loan:
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
        status=LoanStatus.PENDING, model=model)
    loan.proposal = {"asset_ids": [a.id for a in assets], "registration_number": registration_number,
                     "registered_on": (registered_on or signed_on).isoformat()}
    session.flush()
    record(session, actor=bank_user, action="loan.proposed", entity_type="loan", entity_id=loan.id, now=now,
           after={**snapshot(loan, LOAN_FIELDS), "assets": list(asset_ids), "policy": policy.code,
                  "benchmark_rate": loan.benchmark_rate, "rate_within_cap": loan.rate_within_cap})
    return loan


def proposed_assets(session: Session, loan: Loan) -> list[IpAsset]:
    """The assets a pending loan asks the enterprise to pledge (for its confirmation page)."""
    ids = (loan.proposal or {}).get("asset_ids", [])
    return [a for a in (session.get(IpAsset, i) for i in ids) if a is not None]


def _own_pending_loan(session: Session, actor, loan_id: int) -> Loan:
    """The actor's pending loan (its enterprise's, or its bank's) read under its row lock: of two decisions at once
    (a double click, confirm against decline) the second sees the first's outcome and is refused."""
    require(actor, Role.ENTERPRISE, Role.BANK)
    lock_row(session, Loan, loan_id)
    loan = get_loan(session, loan_id)
    own = loan.enterprise_org_id if actor.role is Role.ENTERPRISE else loan.bank_org_id
    if own != actor.organisation_id:
        raise NotFound("This loan does not exist.")
    if loan.status is not LoanStatus.PENDING:
        raise Conflict("This loan no longer waits for the enterprise's confirmation.")
    return loan


def confirm_loan(session: Session, enterprise_user, loan_id: int, now: datetime) -> Loan:
    """The enterprise confirms a loan its bank recorded: the loan takes effect and its assets are pledged (checked
    again: still the enterprise's, granted, eligible and free). The consent is kept on the loan and audited."""
    require(enterprise_user, Role.ENTERPRISE)
    loan = _own_pending_loan(session, enterprise_user, loan_id)
    proposal = dict(loan.proposal or {})
    assets = _pledgeable_assets(session, loan.enterprise, loan.policy, list(proposal.get("asset_ids", [])),
                                signed_on=loan.signed_on, term_months=loan.term_months)
    LOAN.move(session, enterprise_user, loan, LoanStatus.ACTIVE, now, action="loan.confirmed",
              note="assets: " + ", ".join(str(a.id) for a in assets),
              also={"consent": Consent.CONFIRMED, "consented_at": now, "consented_by_id": enterprise_user.id})
    _write_pledges(session, enterprise_user, loan, assets, proposal.get("registration_number", ""),
                   date.fromisoformat(proposal.get("registered_on") or loan.signed_on.isoformat()), now)
    return loan


def decline_loan(session: Session, actor, loan_id: int, now: datetime) -> Loan:
    """The enterprise refuses a loan its bank recorded (or the bank withdraws it) while it is pending: nothing was
    pledged and nothing will be."""
    loan = _own_pending_loan(session, actor, loan_id)
    LOAN.move(session, actor, loan, LoanStatus.DECLINED, now, also={"closed_at": now},
              action="loan.declined" if actor.role is Role.ENTERPRISE else "loan.withdrawn")
    return loan


def offer_for_signing(session: Session, bank_user, offer_id: int):
    """The accepted market.needs Offer of the actor's bank that can still become a loan (for the signing page)."""
    require(bank_user, Role.BANK)
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


def need_loan_for(session: Session, actor, need) -> Loan | None:
    """The loan of a need (`loan_of_need`) when the actor may see it (`market.loans.access.may_see`), else None."""
    loan = loan_of_need(session, need)
    return loan if loan is not None and may_see(actor, loan) else None


def may_sign(session: Session, actor, need) -> bool:
    """Whether the actor may sign the loan of the need's accepted offer now: the one rule of `offer_for_signing`
    (its bank, verified; the offer accepted and not yet signed; the need still in talks)."""
    offer = need.accepted_offer
    if offer is None:
        return False
    try:
        offer_for_signing(session, actor, offer.id)
    except DomainError:
        return False
    return True


def sign_loan_from_offer(session: Session, bank_user, offer_id: int, *, signed_on: date, now: datetime,
                         registration_number: str, registered_on: date | None = None,
                         repayment_method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL,
                         guarantor_org_id: int | None = None, guarantee_coverage=0, guarantee_premium=0,
                         insurer_org_id: int | None = None, insurance_coverage=0, insurance_premium=0,
                         collateral_text: str | None = None, model: dict | None = None) -> Loan:
    """Sign the loan of an accepted market.needs Offer: the principal, rate and term are the offer's, the pledged
    assets are the need's, the enterprise is the need's owner. The need becomes funded
    (`market.needs.docking.mark_funded`). All or nothing: a refusal (an asset pledged meanwhile, a second signing of
    the same offer, ...) leaves nothing written, even inside the caller's transaction (a savepoint)."""
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
            status=LoanStatus.ACTIVE, model=model)
        # The enterprise accepted this offer on its own need, which lists the assets: that is its consent.
        loan.consent, loan.consented_at = Consent.OFFER, offer.decided_at or now
        _write_pledges(session, bank_user, loan, assets, registration_number, registered_on or signed_on, now)
        record(session, actor=bank_user, action="loan.signed", entity_type="loan", entity_id=loan.id, now=now,
               after={**snapshot(loan, LOAN_FIELDS), "assets": [a.id for a in assets], "policy": policy.code,
                      "benchmark_rate": loan.benchmark_rate, "rate_within_cap": loan.rate_within_cap,
                      "consent": Consent.OFFER.value})
        mark_funded(session, bank_user, need.id, now)
        record(session, actor=bank_user, action="loan.signed_from_offer", entity_type="loan", entity_id=loan.id,
               now=now, after={"offer_id": offer.id, "need_id": need.id, "assets": list(need.asset_ids)})
        notify(session, msgid="The loan for your financing need “%(title)s” was signed.", now=now,
               org_id=need.org_id, link=f"/needs/{need.id}", title=need.title)
    return loan
