"""The conflict-of-interest rule (评估回避): a valuer may not value, or advise on, an asset when the valuer's
agency or the valuer is tied to the asset's owner or to a bank holding an active pledge on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, Role, User
from market.areas import collect
from market.audit.service import record, snapshot
from market.errors import Conflict, InvalidInput, NotFound
from market.ip.models import IpAsset
from market.security import N_, require
from market.valuations.models import ConflictDeclaration

OWNER_SAME_ORG = N_("You may not value this asset: your organisation owns it.")
BANK_SAME_ORG = N_("You may not value this asset: your organisation is the lending bank of an active pledge on it.")
DECLARED_OWNER = N_("You may not value this asset: a tie with its owner has been declared.")
DECLARED_BANK = N_("You may not value this asset: a tie with the bank that holds an active pledge on it has been "
                   "declared.")
DECLARED_ASSET = N_("You may not value this asset: a conflict of interest on it has been declared.")
DECLARATION_FIELDS = ["valuer_id", "agency_org_id", "tied_org_id", "asset_id", "reason"]


def lending_bank_ids(session: Session, asset_id: int) -> set[int]:
    """Banks holding an active pledge on the asset (the `asset_lenders` contributions)."""
    return {org_id for lenders in collect("asset_lenders") for org_id in lenders(session, asset_id)}


def conflict_reasons(session: Session, valuer: User, asset: IpAsset) -> list[str]:
    """Every reason (an English msgid) why `valuer` may not value `asset`; empty when there is none."""
    reasons = []
    agency = valuer.organisation_id
    banks = lending_bank_ids(session, asset.id)
    if agency is not None and asset.owner_org_id == agency:
        reasons.append(OWNER_SAME_ORG)
    if agency is not None and agency in banks:
        reasons.append(BANK_SAME_ORG)
    who = [ConflictDeclaration.valuer_id == valuer.id]
    if agency is not None:
        who.append(ConflictDeclaration.agency_org_id == agency)
    declared = session.scalars(select(ConflictDeclaration).where(or_(*who))).all()
    for d in declared:
        if d.asset_id == asset.id:
            reasons.append(DECLARED_ASSET)
        elif d.tied_org_id is not None and d.tied_org_id == asset.owner_org_id:
            reasons.append(DECLARED_OWNER)
        elif d.tied_org_id is not None and d.tied_org_id in banks:
            reasons.append(DECLARED_BANK)
    return list(dict.fromkeys(reasons))


def tied_to_org(session: Session, valuer: User, org_id: int) -> bool:
    """Whether `valuer` (or the valuer's agency) is tied to the organisation: the same organisation, or a declared
    tie with it. A tied valuer advises that organisation on nothing, whatever the assets."""
    if valuer.organisation_id is not None and valuer.organisation_id == org_id:
        return True
    who = [ConflictDeclaration.valuer_id == valuer.id]
    if valuer.organisation_id is not None:
        who.append(ConflictDeclaration.agency_org_id == valuer.organisation_id)
    return session.scalar(select(ConflictDeclaration.id).where(
        or_(*who), ConflictDeclaration.tied_org_id == org_id).limit(1)) is not None


def check_no_conflict(session: Session, valuer: User, asset: IpAsset) -> None:
    reasons = conflict_reasons(session, valuer, asset)
    if reasons:
        raise Conflict(reasons[0])


def declare_conflict(session: Session, actor: User, *, tied_org_id: int | None, asset_id: int | None, reason: str,
                     whole_agency: bool, now: datetime) -> ConflictDeclaration:
    """A valuer declares a tie of their own (or of their whole agency) with an organisation or an asset."""
    require(actor, Role.VALUER)
    if tied_org_id is None and asset_id is None:
        raise InvalidInput("Name the organisation or the asset the tie is with.")
    if not (reason or "").strip():
        raise InvalidInput("Say what the tie is.")
    if tied_org_id is not None and session.get(Organisation, tied_org_id) is None:
        raise NotFound("This organisation does not exist.")
    if asset_id is not None and session.get(IpAsset, asset_id) is None:
        raise NotFound("This asset does not exist.")
    declaration = ConflictDeclaration(
        valuer_id=None if whole_agency else actor.id, agency_org_id=actor.organisation_id if whole_agency else None,
        tied_org_id=tied_org_id, asset_id=asset_id, reason=reason.strip()[:500], declared_by_id=actor.id,
        declared_at=now)
    session.add(declaration)
    session.flush()
    record(session, actor=actor, action="valuation.conflict_declared", entity_type="valuation_conflict",
           entity_id=declaration.id, now=now, after=snapshot(declaration, DECLARATION_FIELDS))
    from market.valuations.experts import reroute_conflicted  # experts import this module

    reroute_conflicted(session, actor, now)
    return declaration


def declarations_of(session: Session, actor: User) -> list[ConflictDeclaration]:
    who = [ConflictDeclaration.valuer_id == actor.id]
    if actor.organisation_id is not None:
        who.append(ConflictDeclaration.agency_org_id == actor.organisation_id)
    return list(session.scalars(select(ConflictDeclaration).where(or_(*who)).order_by(ConflictDeclaration.id.desc())))
