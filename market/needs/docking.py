"""Bank loan products and docking (对接): a bank claims a need (interest), meets the enterprise, makes an offer;
the enterprise accepts one offer (the others are declined). Needs no bank answers are escalated to staff.

Decision: the first claim moves a published need to in_talks; accepting an offer keeps the need in in_talks (with
the accepted offer recorded) — the loans area moves it to funded when the loan is drawn."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, Role, User
from market.areas import collect
from market.audit.service import record, snapshot
from market.bounded import AMOUNT, within
from market.db import get_or_fail, lock_row
from market.errors import Conflict, Forbidden, InvalidInput, NotFound
from market.ip.models import IpKind
from market.needs.models import (
    PUBLIC_STATUSES,
    Claim,
    ClaimStatus,
    LoanProduct,
    Need,
    NeedStatus,
    Offer,
    OfferStatus,
)
from market.needs.rules import DEFAULT_RESPONSE_WORKING_DAYS, add_working_days
from market.needs.service import lock_need, own_need
from market.needs.states import CLAIM_FIELDS, CLAIM_STATES, NEED_STATES, OFFER_FIELDS, OFFER_STATES, OS, C
from market.notices.service import notify
from market.security import N_, require

PRODUCT_FIELDS = ["name", "min_amount", "max_amount", "min_term_months", "max_term_months", "min_rate", "max_rate",
                  "accepted_kinds", "target_industries", "target_groups", "requires_guarantee", "requires_insurance",
                  "max_ltv", "active"]


@dataclass
class ProductInput:
    name: str
    min_amount: Decimal
    max_amount: Decimal
    min_term_months: int
    max_term_months: int
    min_rate: Decimal
    max_rate: Decimal
    accepted_kinds: list[str]
    target_industries: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    requires_guarantee: bool = False
    requires_insurance: bool = False
    max_ltv: dict[str, Decimal] = field(default_factory=dict)
    description: str | None = None


def _validate_product(data: ProductInput) -> dict[str, str]:
    if not (data.name or "").strip():
        raise InvalidInput("Give the product a name.")
    if not (within(AMOUNT, data.min_amount) and within(AMOUNT, data.max_amount) and data.min_amount <= data.max_amount):
        raise InvalidInput("The amount range must be positive and the minimum not above the maximum.")
    if not (1 <= data.min_term_months <= data.max_term_months <= 360):
        raise InvalidInput("The term range must be between 1 and 360 months, the minimum not above the maximum.")
    if not (Decimal(0) < data.min_rate <= data.max_rate < Decimal(1)):
        raise InvalidInput("The rate range must be fractions between 0 and 1, the minimum not above the maximum.")
    try:
        kinds = [IpKind(k).value for k in data.accepted_kinds]
    except ValueError as exc:
        raise InvalidInput("Unknown IP kind in the accepted kinds.") from exc
    if not kinds:
        raise InvalidInput("Accept at least one IP kind.")
    ltv: dict[str, str] = {}
    for kind, value in (data.max_ltv or {}).items():
        if kind not in kinds:
            raise InvalidInput("A loan-to-value limit is given for a kind the product does not accept.")
        value = Decimal(str(value))
        if not Decimal(0) < value <= Decimal(1):
            raise InvalidInput("Loan-to-value limits are fractions above 0 and at most 1.")
        ltv[kind] = str(value)
    return ltv


def save_product(session: Session, actor: User, data: ProductInput, now: datetime,
                 product_id: int | None = None) -> LoanProduct:
    """Publish a new loan product of the actor's bank, or change one of its own."""
    bank = require(actor, Role.BANK)
    ltv = _validate_product(data)
    if product_id is None:
        product = LoanProduct(bank_org_id=bank.id, created_at=now, active=True)
        before = None
    else:
        product = _own_product(session, bank, product_id)
        before = snapshot(product, PRODUCT_FIELDS)
    product.name = data.name.strip()
    product.description = (data.description or "").strip() or None
    product.min_amount, product.max_amount = data.min_amount, data.max_amount
    product.min_term_months, product.max_term_months = data.min_term_months, data.max_term_months
    product.min_rate, product.max_rate = data.min_rate, data.max_rate
    product.accepted_kinds = [IpKind(k).value for k in data.accepted_kinds]
    product.target_industries = [c.strip() for c in data.target_industries if c.strip()]
    product.target_groups = [c.strip() for c in data.target_groups if c.strip()]
    product.requires_guarantee = data.requires_guarantee
    product.requires_insurance = data.requires_insurance
    product.max_ltv = ltv
    product.updated_at = now
    session.add(product)
    session.flush()
    record(session, actor=actor, action="product.saved", entity_type="loan_product", entity_id=product.id, now=now,
           before=before, after=snapshot(product, PRODUCT_FIELDS))
    return product


def _own_product(session: Session, bank: Organisation, product_id: int) -> LoanProduct:
    product = get_or_fail(session, LoanProduct, product_id, "This loan product does not exist.")
    if product.bank_org_id != bank.id:
        raise Forbidden("This loan product belongs to another bank.")
    return product


def set_product_active(session: Session, actor: User, product_id: int, active: bool, now: datetime) -> LoanProduct:
    """Take one of the bank's own products off the market (it no longer matches or lists) or put it back.
    Docking records and offers that name it keep it. Refused (409) when it is already in that state."""
    bank = require(actor, Role.BANK)
    lock_row(session, LoanProduct, product_id)  # two switches at once queue: the second sees the first (409)
    product = _own_product(session, bank, product_id)
    if product.active and active:
        raise Conflict("This loan product is already active.")
    if not product.active and not active:
        raise Conflict("This loan product is already inactive.")
    before = snapshot(product, PRODUCT_FIELDS)
    product.active = active
    product.updated_at = now
    session.flush()
    record(session, actor=actor, action="product.activated" if active else "product.deactivated",
           entity_type="loan_product", entity_id=product.id, now=now, before=before,
           after=snapshot(product, PRODUCT_FIELDS))
    return product


def bank_products(session: Session, bank_org_id: int) -> list[LoanProduct]:
    """Every product of one bank, inactive ones included (what the bank's own product page lists)."""
    return list(session.scalars(select(LoanProduct).where(LoanProduct.bank_org_id == bank_org_id)
                                .order_by(LoanProduct.id)))


def active_products(session: Session, bank_org_id: int | None = None) -> list[LoanProduct]:
    query = select(LoanProduct).where(LoanProduct.active.is_(True)).order_by(LoanProduct.id)
    if bank_org_id is not None:
        query = query.where(LoanProduct.bank_org_id == bank_org_id)
    return list(session.scalars(query))


def _open_need_for_bank(session: Session, need_id: int) -> Need:
    need = lock_need(session, need_id)
    if need is None or need.status not in PUBLIC_STATUSES:
        raise NotFound("This financing need does not exist.")
    if need.accepted_offer is not None:
        raise Conflict("The enterprise has already accepted an offer on this need.")
    if any(na.asset.owner_org_id != need.org_id for na in need.assets):
        raise Conflict("An IP asset offered in this need no longer belongs to the enterprise.")
    return need


def claim_need(session: Session, actor: User, need_id: int, now: datetime, product_id: int | None = None,
               note: str | None = None) -> Claim:
    """The actor's bank declares interest in a published need. Several banks may claim one need."""
    bank = require(actor, Role.BANK)
    need = _open_need_for_bank(session, need_id)
    if any(c.bank_org_id == bank.id for c in need.claims):
        raise Conflict("Your bank has already claimed this need.")
    if product_id is not None:
        product = session.get(LoanProduct, product_id)
        if product is None or product.bank_org_id != bank.id:
            raise InvalidInput("Choose one of your own loan products.")
    claim = Claim(need_id=need.id, need=need, bank_org_id=bank.id, product_id=product_id, status=C.INTEREST,
                  note=(note or "").strip() or None, created_at=now, updated_at=now)
    session.add(claim)
    session.flush()
    record(session, actor=actor, action="claim.interest", entity_type="need_claim", entity_id=claim.id, now=now,
           after=snapshot(claim, CLAIM_FIELDS))
    notify(session, msgid=N_("%(bank)s is interested in your financing need “%(title)s”."), now=now, org_id=need.org_id, link=f"/needs/{need.id}", bank=bank.name, title=need.title)  # noqa: E501
    if need.first_response_at is None:
        need.first_response_at = now
    if need.status is NeedStatus.PUBLISHED:
        NEED_STATES.move(session, actor, need, NeedStatus.IN_TALKS, now, note="first bank interest")
    return claim


def _own_claim(session: Session, bank: Organisation, need_id: int) -> Claim:
    claim = session.scalar(select(Claim).where(Claim.need_id == need_id, Claim.bank_org_id == bank.id))
    if claim is None:
        raise NotFound("Your bank has not claimed this need.")
    return claim


def schedule_meeting(session: Session, actor: User, need_id: int, meeting_at: datetime, now: datetime) -> Claim:
    """The bank that claimed a need arranges a meeting with the enterprise (naive UTC `meeting_at`, in the
    future); while the record is at the meeting stage the time may be moved."""
    bank = require(actor, Role.BANK)
    lock_need(session, need_id)
    claim = _own_claim(session, bank, need_id)
    if meeting_at <= now:
        raise InvalidInput("The meeting time must be in the future.")
    if claim.status is not C.MEETING:
        CLAIM_STATES.move(session, actor, claim, C.MEETING, now, also={"meeting_at": meeting_at})
        return claim
    before = snapshot(claim, CLAIM_FIELDS)  # the meeting moves: a change of time, not of state
    claim.meeting_at = meeting_at
    claim.updated_at = now
    session.flush()
    record(session, actor=actor, action="claim.meeting_moved", entity_type="need_claim", entity_id=claim.id, now=now,
           before=before, after=snapshot(claim, CLAIM_FIELDS))
    return claim


def make_offer(session: Session, actor: User, need_id: int, amount: Decimal, annual_rate: Decimal,
               term_months: int, now: datetime, product_id: int | None = None,
               conditions: str | None = None) -> Offer:
    """The bank that claimed a need offers a loan (claiming it first if it has not)."""
    bank = require(actor, Role.BANK)
    need = _open_need_for_bank(session, need_id)
    if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("The amount must be more than zero, with at most two decimals.")
    if annual_rate is None or not Decimal(0) < annual_rate < Decimal(1):
        raise InvalidInput("The annual rate must be a fraction between 0 and 1.")
    if not 1 <= term_months <= 360:
        raise InvalidInput("The term must be between 1 and 360 months.")
    claim = session.scalar(select(Claim).where(Claim.need_id == need.id, Claim.bank_org_id == bank.id))
    if claim is None:
        claim = claim_need(session, actor, need.id, now, product_id=product_id)
    if claim.status not in (C.INTEREST, C.MEETING):
        raise Conflict("Your bank already has an offer or a closed docking record on this need.")
    if product_id is not None:
        product = session.get(LoanProduct, product_id)
        if product is None or product.bank_org_id != bank.id:
            raise InvalidInput("Choose one of your own loan products.")
    offer = Offer(need_id=need.id, need=need, claim_id=claim.id, bank_org_id=bank.id,
                  product_id=product_id or claim.product_id, amount=amount, annual_rate=annual_rate,
                  term_months=term_months, conditions=(conditions or "").strip() or None, status=OS.PENDING,
                  created_at=now)
    session.add(offer)
    session.flush()
    record(session, actor=actor, action="offer.made", entity_type="need_offer", entity_id=offer.id, now=now,
           after=snapshot(offer, OFFER_FIELDS))
    CLAIM_STATES.move(session, actor, claim, C.OFFER, now)
    notify(session, msgid=N_("%(bank)s made an offer on your financing need “%(title)s”: answer it."), now=now, org_id=need.org_id, link=f"/needs/{need.id}", bank=bank.name, title=need.title)  # noqa: E501
    return offer


def _locked_offer(session: Session, offer_id: int) -> Offer | None:
    """The offer read again under its need's row lock: the enterprise's decisions and the bank's withdrawals on
    one need queue, so two offers are never both accepted and a withdrawn offer is never accepted."""
    offer = session.get(Offer, offer_id)
    if offer is not None:
        lock_need(session, offer.need_id)
        session.refresh(offer)
    return offer


def _offer_of_own_need(session: Session, actor: User, offer_id: int) -> Offer:
    offer = _locked_offer(session, offer_id)
    if offer is None:
        raise NotFound("This offer does not exist.")
    own_need(session, actor, offer.need_id)
    return offer


def _claim_of(session: Session, offer: Offer) -> Claim | None:
    return session.get(Claim, offer.claim_id) if offer.claim_id else None


def accept_offer(session: Session, actor: User, offer_id: int, now: datetime) -> Offer:
    """The enterprise accepts one offer; every other pending offer on the need is declined."""
    offer = _offer_of_own_need(session, actor, offer_id)
    need = offer.need
    if need.status is not NeedStatus.IN_TALKS:
        raise Conflict("Offers can only be accepted while the need is in talks.")
    OFFER_STATES.move(session, actor, offer, OS.ACCEPTED, now)
    claim = _claim_of(session, offer)
    if claim is not None:
        CLAIM_STATES.move(session, actor, claim, C.ACCEPTED, now)
    for other in need.offers:
        if other.id != offer.id and other.status is OS.PENDING:
            OFFER_STATES.move(session, actor, other, OS.DECLINED, now)
    for other_claim in need.claims:
        if other_claim.id != offer.claim_id and other_claim.status in CLAIM_STATES.transitions:
            CLAIM_STATES.move(session, actor, other_claim, C.DECLINED, now)
    record(session, actor=actor, action="need.offer_accepted", entity_type="need", entity_id=need.id, now=now,
           after={"offer_id": offer.id, "bank_org_id": offer.bank_org_id})
    notify(session, msgid="The enterprise accepted your offer on “%(title)s”: sign the loan.", now=now,
           org_id=offer.bank_org_id, link=f"/loans/from-offer/{offer.id}", title=need.title)
    return offer


def decline_offer(session: Session, actor: User, offer_id: int, now: datetime) -> Offer:
    offer = _offer_of_own_need(session, actor, offer_id)
    OFFER_STATES.move(session, actor, offer, OS.DECLINED, now)
    claim = _claim_of(session, offer)
    if claim is not None:
        CLAIM_STATES.move(session, actor, claim, C.DECLINED, now)
    notify(session, msgid=N_("The enterprise declined your offer on “%(title)s”."), now=now, org_id=offer.bank_org_id, link=f"/needs/{offer.need_id}", title=offer.need.title)  # noqa: E501
    return offer


def withdraw_offer(session: Session, actor: User, offer_id: int, now: datetime) -> Offer:
    bank = require(actor, Role.BANK)
    offer = _locked_offer(session, offer_id)
    if offer is None or offer.bank_org_id != bank.id:
        raise NotFound("This offer does not exist.")
    OFFER_STATES.move(session, actor, offer, OS.WITHDRAWN, now)
    claim = _claim_of(session, offer)
    if claim is not None:
        CLAIM_STATES.move(session, actor, claim, C.WITHDRAWN, now)
    return offer


def loan_ids_of_offers(session: Session, offers) -> dict[int, int]:
    """{offer id: the loan signed from it} for those of `offers` that were accepted and signed, as the areas that
    sign loans report them (`offer_loans` in their area.py)."""
    ids = [o.id for o in offers if o.status is OS.ACCEPTED]
    found: dict[int, int] = {}
    for loans_of in collect("offer_loans") if ids else ():
        found.update(loans_of(session, ids))
    return found


def offers_for_bank(session: Session, bank_org_id: int) -> list[Offer]:
    return list(session.scalars(select(Offer).where(Offer.bank_org_id == bank_org_id).order_by(Offer.id.desc())))


def response_deadline(need: Need, working_days: int = DEFAULT_RESPONSE_WORKING_DAYS) -> datetime | None:
    return add_working_days(need.published_at, working_days) if need.published_at else None


def overdue_needs(session: Session, now: datetime, working_days: int = DEFAULT_RESPONSE_WORKING_DAYS) -> list[Need]:
    """Published needs no bank has answered within `working_days` working days (not yet escalated)."""
    candidates = session.scalars(select(Need).where(
        Need.status == NeedStatus.PUBLISHED, Need.first_response_at.is_(None), Need.escalated_at.is_(None),
    ).order_by(Need.published_at))
    return [n for n in candidates if response_deadline(n, working_days) <= now]


def escalate_needs(session: Session, now: datetime, working_days: int = DEFAULT_RESPONSE_WORKING_DAYS) -> list[Need]:
    """Mark overdue needs as escalated to staff (each once), audited as the system."""
    needs = overdue_needs(session, now, working_days)
    for need in needs:
        need.escalated_at = now
        record(session, actor=None, action="need.escalated", entity_type="need", entity_id=need.id, now=now,
               after={"escalated_at": now, "working_days": working_days})
        notify(session, msgid=N_("No bank answered the financing need “%(title)s” within %(days)s working days."), now=now, role=Role.STAFF.value, link=f"/needs/{need.id}", title=need.title, days=working_days)  # noqa: E501
    session.flush()
    return needs


def escalated_needs(session: Session) -> list[Need]:
    return list(session.scalars(select(Need).where(
        Need.escalated_at.is_not(None), Need.status == NeedStatus.PUBLISHED).order_by(Need.escalated_at)))


def mark_funded(session: Session, actor: User | None, need_id: int, now: datetime) -> Need:
    """For the loans area: the loan from the accepted offer was made, so the need is funded. `actor` is the bank
    of the accepted offer, staff, or None (system)."""
    need = lock_need(session, need_id)
    if need is None:
        raise NotFound("This financing need does not exist.")
    accepted = need.accepted_offer
    if accepted is None:
        raise Conflict("Only a need with an accepted offer can be funded.")
    if actor is not None and actor.role is not Role.STAFF and actor.organisation_id != accepted.bank_org_id:
        raise Forbidden("Only the bank of the accepted offer can do this.")
    NEED_STATES.move(session, actor, need, NeedStatus.FUNDED, now, note=f"offer {accepted.id}",
                     also={"closed_at": now})
    return need


def docking_records(session: Session, actor: User, model: type[Claim] | type[Offer], *,
                    status: ClaimStatus | OfferStatus | None = None, need_id: int | None = None, offset: int = 0,
                    limit: int = 50) -> tuple[int, list]:
    """Claims or offers across needs as the actor may see them, newest first: a bank its own, an enterprise those
    on its needs, staff all. Returns (total, the page)."""
    query = select(model)
    if actor.role is Role.BANK:
        query = query.where(model.bank_org_id == actor.organisation_id)
    elif actor.role is Role.ENTERPRISE:
        query = query.join(Need, Need.id == model.need_id).where(Need.org_id == actor.organisation_id)
    elif actor.role is not Role.STAFF:
        raise Forbidden("Only banks, enterprises and staff have docking records.")
    if status is not None:
        query = query.where(model.status == status)
    if need_id is not None:
        query = query.where(model.need_id == need_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(session.scalars(query.order_by(model.id.desc()).offset(offset).limit(limit)))
    return total, items
