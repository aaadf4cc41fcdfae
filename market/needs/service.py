"""Financing needs: posting, review by staff, visibility, withdrawal and classification.

Every state change goes through `NEED_STATES` (needs/states.py) and is written to the audit log. Services only
flush."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, OrgKind, Role, User
from market.audit.service import record, snapshot
from market.bounded import AMOUNT, plain, within
from market.db import lock_row, lock_rows
from market.errors import Conflict, Forbidden, InvalidInput, NotFound
from market.ip.labels import kind_label, status_label
from market.ip.models import VALID_STATUSES, IpAsset, IpKind, PledgeState
from market.needs.models import (
    EDITABLE_STATUSES,
    OPEN_STATUSES,
    PUBLIC_STATUSES,
    Claim,
    ClaimStatus,
    Need,
    NeedAsset,
    NeedPreferredBank,
    OfferStatus,
)
from market.needs.rules import REVIEW_CHECKLIST, amount_band, eligible_kinds
from market.needs.states import CLAIM_STATES, NEED_FIELDS, NEED_STATES, OFFER_STATES, S
from market.notices.service import notify
from market.reference.loader import groups_for_industry
from market.security import N_, require

MAX_TERM_MONTHS = 120
MAX_ASSETS = 50


@dataclass
class NeedInput:
    title: str
    amount: Decimal
    term_months: int
    purpose: str
    max_rate: Decimal
    asset_ids: list[int]
    tangible_collateral: str | None = None
    tangible_value: Decimal | None = None
    preferred_bank_ids: list[int] = field(default_factory=list)


def _validate_terms(data: NeedInput) -> None:
    if not (data.title or "").strip():
        raise InvalidInput("Give the need a title.")
    if data.amount is None or not within(AMOUNT, data.amount):  # the one bound of amounts (forms, API, here)
        raise InvalidInput("The amount must be more than zero and at most %(max)s yuan, with at most two decimals.",
                           max=plain(AMOUNT.high))
    if not 1 <= data.term_months <= MAX_TERM_MONTHS:
        raise InvalidInput("The term must be between 1 and 120 months.")
    if data.max_rate is None or not Decimal("0") < data.max_rate < Decimal("1"):
        raise InvalidInput("The highest annual rate must be a fraction between 0 and 1, e.g. 0.06 for 6%.")
    if not (data.purpose or "").strip():
        raise InvalidInput("Say what the money is for.")
    if data.tangible_value is not None and data.tangible_value < 0:
        raise InvalidInput("The value of the tangible collateral cannot be negative.")
    if data.tangible_value is not None and not (data.tangible_collateral or "").strip():
        raise InvalidInput("Describe the tangible collateral you give a value for.")


def check_assets(session: Session, org: Organisation, asset_ids: list[int], now: datetime,
                 need_id: int | None = None) -> list[IpAsset]:
    """The assets an enterprise may offer: its own, of an eligible kind, in force, free, not frozen, and not
    already offered by another of its open needs. Raises the first refusal; changes nothing.

    The assets are read under their row locks: two needs offering one asset at once queue here, and the second
    sees the first's need (409) instead of both being written."""
    ids = list(dict.fromkeys(int(i) for i in asset_ids))
    if not ids:
        raise InvalidInput("Offer at least one IP asset.")
    if len(ids) > MAX_ASSETS:
        raise InvalidInput("Offer at most %(n)s IP assets in one need.", n=MAX_ASSETS)
    assets = {a.id: a for a in lock_rows(session, IpAsset, ids)}
    kinds = eligible_kinds(session, now)
    for asset_id in ids:
        asset = assets.get(asset_id)
        if asset is None or asset.owner_org_id != org.id:
            raise Forbidden("IP asset #%(id)s does not belong to your organisation.", id=asset_id)
        if asset.kind not in kinds:
            raise InvalidInput("“%(title)s” is of a kind (%(kind)s) that the pledge policy in force does not accept.",
                               title=asset.title, kind=str(kind_label(asset.kind)))
        if asset.legal_status not in VALID_STATUSES:
            raise InvalidInput("“%(title)s” is not a right in force (%(status)s).", title=asset.title,
                               status=str(status_label(asset.legal_status)))
        if asset.pledge_state is PledgeState.PLEDGED:
            raise Conflict("“%(title)s” is already pledged.", title=asset.title)
        if asset.pledge_state is PledgeState.IN_DISPOSAL:
            raise Conflict("“%(title)s” is in disposal.", title=asset.title)
        if asset.frozen:
            raise Conflict("“%(title)s” is frozen.", title=asset.title)
    busy = session.execute(
        select(NeedAsset.asset_id, Need.id).join(Need).where(
            NeedAsset.asset_id.in_(ids), Need.status.in_(OPEN_STATUSES), Need.id != (need_id or 0))
    ).first()
    if busy is not None:
        raise Conflict("“%(title)s” is already offered in your financing need #%(need)s.",
                       title=assets[busy[0]].title, need=busy[1])
    return [assets[i] for i in ids]


def _check_banks(session: Session, bank_ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in bank_ids))
    if not ids:
        return []
    found = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(ids),
                                                              Organisation.kind == OrgKind.BANK)))
    for bank_id in ids:
        if bank_id not in found:
            raise InvalidInput("Organisation #%(id)s is not a bank.", id=bank_id)
    return ids


def classify(session: Session, need: Need, assets: list[IpAsset]) -> None:
    """Copy the classification (industry, group, district, kinds, IPC, amount band) onto the need."""
    org = need.org or session.get(Organisation, need.org_id)
    need.industry_code = org.industry_code
    need.district_code = org.district_code
    need.group_codes = [g.code for g in groups_for_industry(session, org.industry_code)]
    need.ip_kinds = sorted({a.kind.value for a in assets})
    ipc = [c.strip().upper() for a in assets for c in (a.ipc_codes or []) if c and c.strip()]
    need.ipc_sections = sorted({c[:1] for c in ipc})
    need.ipc_classes = sorted({c[:3] for c in ipc if len(c) >= 3})
    need.amount_band = amount_band(need.amount)


def _apply(session: Session, need: Need, data: NeedInput, assets: list[IpAsset], bank_ids: list[int]) -> None:
    need.title = data.title.strip()
    need.amount = data.amount
    need.term_months = data.term_months
    need.purpose = data.purpose.strip()
    need.max_rate = data.max_rate
    need.tangible_collateral = (data.tangible_collateral or "").strip() or None
    need.tangible_value = data.tangible_value if need.tangible_collateral else None
    need.assets = [NeedAsset(asset_id=a.id) for a in assets]
    need.preferred = [NeedPreferredBank(bank_org_id=b) for b in bank_ids]
    classify(session, need, assets)


def create_need(session: Session, actor: User, data: NeedInput, now: datetime, submit: bool = False) -> Need:
    """A new draft need of the actor's enterprise (submitted for review at once when `submit`)."""
    org = require(actor, Role.ENTERPRISE)
    _validate_terms(data)
    assets = check_assets(session, org, data.asset_ids, now)
    bank_ids = _check_banks(session, data.preferred_bank_ids)
    need = Need(org_id=org.id, org=org, created_by_id=actor.id, status=S.DRAFT, created_at=now, updated_at=now,
                review_checklist={})
    _apply(session, need, data, assets, bank_ids)
    session.add(need)
    session.flush()
    record(session, actor=actor, action="need.created", entity_type="need", entity_id=need.id, now=now,
           after=snapshot(need, NEED_FIELDS))
    if submit:
        NEED_STATES.move(session, actor, need, S.SUBMITTED, now, also={"submitted_at": now})
    return need


def own_need(session: Session, actor: User, need_id: int) -> Need:
    """The actor's own need; another enterprise's need is reported as not found."""
    org = require(actor, Role.ENTERPRISE)
    need = session.get(Need, need_id)
    if need is None or need.org_id != org.id:
        raise NotFound("This financing need does not exist.")
    return need


def lock_need(session: Session, need_id: int) -> Need | None:
    """The need under its row lock, first thing in a write: every change of one need (its state, its docking
    records, its offers) queues behind the others and judges what they committed (`market.db.lock_row`)."""
    return lock_row(session, Need, need_id)


def update_need(session: Session, actor: User, need_id: int, data: NeedInput, now: datetime) -> Need:
    """Change a draft or rejected need (to fix what staff pointed out)."""
    lock_need(session, need_id)
    need = own_need(session, actor, need_id)
    if need.status not in EDITABLE_STATUSES:
        raise Conflict("Only a draft or a rejected need can be changed.")
    _validate_terms(data)
    assets = check_assets(session, need.org, data.asset_ids, now, need_id=need.id)
    bank_ids = _check_banks(session, data.preferred_bank_ids)
    before = snapshot(need, NEED_FIELDS)
    _apply(session, need, data, assets, bank_ids)
    need.updated_at = now
    session.flush()
    record(session, actor=actor, action="need.updated", entity_type="need", entity_id=need.id, now=now,
           before=before, after=snapshot(need, NEED_FIELDS))
    return need


def submit_need(session: Session, actor: User, need_id: int, now: datetime) -> Need:
    """Send a draft (or a fixed, rejected need) to staff; the assets are checked again."""
    lock_need(session, need_id)
    need = own_need(session, actor, need_id)
    NEED_STATES.check(need.status, S.SUBMITTED)
    assets = check_assets(session, need.org, need.asset_ids, now, need_id=need.id)
    classify(session, need, assets)
    NEED_STATES.move(session, actor, need, S.SUBMITTED, now, also={"submitted_at": now})
    return need


def withdraw_need(session: Session, actor: User, need_id: int, now: datetime) -> Need:
    lock_need(session, need_id)
    need = own_need(session, actor, need_id)
    if need.accepted_offer is not None:
        raise Conflict("An offer on this need has been accepted; it can no longer be withdrawn here.")
    NEED_STATES.move(session, actor, need, S.WITHDRAWN, now, also={"closed_at": now})
    close_open_docking(session, actor, need, now)
    return need


def release_transferred_asset(session: Session, actor: User | None, asset_id: int, now: datetime) -> list[Need]:
    """An asset changed hands (sold at the exchange): it leaves every open need of another owner. The need is
    classified again on what is left; a need left with no asset is withdrawn (open docking closed). Each change is
    audited and the enterprise told. Returns the needs changed."""
    asset = session.get(IpAsset, asset_id)
    rows = session.scalars(select(NeedAsset).join(Need, Need.id == NeedAsset.need_id).where(
        NeedAsset.asset_id == asset_id, Need.status.in_(OPEN_STATUSES),
        Need.org_id != (asset.owner_org_id if asset and asset.owner_org_id else -1))).all()
    changed = []
    for row in rows:
        need = row.need
        before = {"assets": list(need.asset_ids)}
        need.assets.remove(row)
        session.flush()
        record(session, actor=actor, action="need.asset_released", entity_type="need", entity_id=need.id, now=now,
               before=before, after={"assets": list(need.asset_ids)}, note=f"asset {asset_id} transferred")
        notify(session, msgid=N_("“%(asset)s” was transferred to a new owner and left your financing need “%(title)s”."), now=now, org_id=need.org_id, link=f"/needs/{need.id}", asset=asset.title if asset else asset_id, title=need.title)  # noqa: E501
        if need.assets:
            classify(session, need, [na.asset for na in need.assets])
        elif NEED_STATES.allowed(need.status, S.WITHDRAWN):
            NEED_STATES.move(session, actor, need, S.WITHDRAWN, now, note="every offered asset was transferred",
                             also={"closed_at": now})
            close_open_docking(session, actor, need, now)
        changed.append(need)
    return changed


def close_open_docking(session: Session, actor: User | None, need: Need, now: datetime) -> None:
    """When a need is withdrawn or closed, pending offers are withdrawn and open claims declined."""
    for offer in need.offers:
        if offer.status is OfferStatus.PENDING:
            OFFER_STATES.move(session, actor, offer, OfferStatus.WITHDRAWN, now)
    for claim in need.claims:
        if claim.status in (ClaimStatus.INTEREST, ClaimStatus.MEETING, ClaimStatus.OFFER):
            CLAIM_STATES.move(session, actor, claim, ClaimStatus.DECLINED, now)


def review_need(session: Session, actor: User, need_id: int, approve: bool, checklist: dict[str, bool],
                reason: str | None, now: datetime) -> Need:
    """Staff publish a submitted need (every checklist item ticked) or reject it with a reason."""
    require(actor, Role.STAFF)
    need = lock_need(session, need_id)
    if need is None:
        raise NotFound("This financing need does not exist.")
    ticks = {key: bool(checklist.get(key)) for key, _label in REVIEW_CHECKLIST}
    reason = (reason or "").strip() or None
    if approve:
        missing = [key for key, ok in ticks.items() if not ok]
        if missing:
            raise InvalidInput("Tick every checklist item before publishing (missing: %(items)s).",
                               items=", ".join(str(label) for key, label in REVIEW_CHECKLIST if key in missing))
        NEED_STATES.check(need.status, S.PUBLISHED)
        check_assets(session, need.org, need.asset_ids, now, need_id=need.id)
        NEED_STATES.move(session, actor, need, S.PUBLISHED, now, note=reason, also={
            "review_checklist": ticks, "published_at": now, "rejection_reason": None})
    else:
        if not reason:
            raise InvalidInput("Give the enterprise a reason for the rejection.")
        NEED_STATES.check(need.status, S.REJECTED)
        NEED_STATES.move(session, actor, need, S.REJECTED, now, note=reason, also={
            "review_checklist": ticks, "rejection_reason": reason})
    notify(session, msgid=N_("Your financing need “%(title)s” was published.") if approve else N_("Your financing need “%(title)s” was returned: %(reason)s"), now=now, org_id=need.org_id, link=f"/needs/{need.id}", title=need.title, reason=reason or "")  # noqa: E501
    return need


def close_need(session: Session, actor: User, need_id: int, now: datetime, note: str | None = None) -> Need:
    require(actor, Role.STAFF)
    need = lock_need(session, need_id)
    if need is None:
        raise NotFound("This financing need does not exist.")
    NEED_STATES.move(session, actor, need, S.CLOSED, now, note=note, also={"closed_at": now})
    close_open_docking(session, actor, need, now)
    return need


def can_see(actor: User | None, need: Need) -> bool:
    """Owners and staff see every state; others only published needs or needs their bank has docked with."""
    if actor is not None and actor.role is Role.STAFF:
        return True
    if actor is not None and actor.organisation_id is not None and actor.organisation_id == need.org_id:
        return True
    if need.status in PUBLIC_STATUSES:
        return True
    if actor is not None and actor.organisation_id is not None:
        return any(c.bank_org_id == actor.organisation_id for c in need.claims)
    return False


def visible_need(session: Session, actor: User | None, need_id: int) -> Need:
    need = session.get(Need, need_id)
    if need is None or not can_see(actor, need):
        raise NotFound("This financing need does not exist.")
    return need


def needs_of(session: Session, actor: User) -> list[Need]:
    org = require(actor, Role.ENTERPRISE, verified=False)
    return list(session.scalars(select(Need).where(Need.org_id == org.id).order_by(Need.id.desc())))


def review_queue(session: Session) -> list[Need]:
    return list(session.scalars(select(Need).where(Need.status == S.SUBMITTED).order_by(Need.submitted_at)))


def docked_with(session: Session, bank_org_id: int) -> list[Claim]:
    return list(session.scalars(select(Claim).where(Claim.bank_org_id == bank_org_id).order_by(Claim.id.desc())))


def kind_values(kinds) -> list[str]:
    return [IpKind(k).value for k in kinds]


DEFAULT_EXPIRY_DAYS = 180


def expire_needs(session: Session, now: datetime, days: int = DEFAULT_EXPIRY_DAYS) -> list[Need]:
    """Published needs no bank took up within `days` days of publication expire (audited as the system). Needs in
    talks do not expire: a bank is working on them."""
    if days < 1:
        raise InvalidInput("The expiry period must be at least one day.")
    cutoff = now - timedelta(days=days)
    needs = list(session.scalars(select(Need).where(Need.status == S.PUBLISHED, Need.published_at <= cutoff)
                                 .order_by(Need.published_at, Need.id)))
    for need in needs:
        NEED_STATES.move(session, None, need, S.EXPIRED, now, note=f"published more than {days} days ago",
                         also={"closed_at": now})
        close_open_docking(session, None, need, now)
    return needs
