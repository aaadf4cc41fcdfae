"""The expert pool (知识产权评估专家库): valuers list their IPC specialities; an enterprise asks for a consultation
on one of its needs or assets and the expert answers with a financing-plan suggestion (融资方案建议).

`rank_experts(session, assets)` orders the pool by IPC overlap with the assets and leaves out every expert with a
conflict of interest on one of them (see conflicts.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from market.accounts.models import Role, User
from market.audit.service import record, snapshot
from market.db import lock_row
from market.errors import Conflict, Forbidden, InvalidInput, NotFound
from market.ip.models import IpAsset
from market.needs.models import Need
from market.notices.service import notify
from market.reference.models import IpcTitle
from market.security import N_, require
from market.valuations.conflicts import conflict_reasons, tied_to_org
from market.valuations.models import (
    Consultation,
    ConsultationStatus,
    ExpertProfile,
    ExpertSpeciality,
    ValueType,
)
from market.valuations.states import CONSULTATION, CONSULTATION_FIELDS

FIELDS = CONSULTATION_FIELDS
# A subclass in common says more than a class, a class more than a section.
WEIGHTS = {1: 1, 3: 2, 4: 3}
SYMBOL = re.compile(r"^[A-H](\d{2}([A-Z])?)?$")


def ipc_prefixes(codes: list[str] | None) -> set[str]:
    """Section, class and subclass of every IPC code: "H01M10/0525" → {"H", "H01", "H01M"}."""
    found = set()
    for code in codes or []:
        code = code.strip().upper().replace(" ", "")
        for n in (1, 3, 4):
            if len(code) >= n and SYMBOL.match(code[:n]):
                found.add(code[:n])
    return found


def parse_symbols(session: Session, text: str | list[str]) -> list[str]:
    """IPC sections/classes/subclasses from free text ("H01M, G06 B25J"), each one checked in the IPC table."""
    parts = text if isinstance(text, list) else re.split(r"[\s,;，；、]+", text or "")
    symbols = []
    for part in parts:
        symbol = part.strip().upper()
        if not symbol:
            continue
        if not SYMBOL.match(symbol) or session.get(IpcTitle, symbol) is None:
            raise InvalidInput("Unknown IPC section, class or subclass: %(symbol)s", symbol=symbol[:10])
        if symbol not in symbols:
            symbols.append(symbol)
    if len(symbols) > 30:
        raise InvalidInput("List at most 30 specialities.")
    return symbols


def save_expert_profile(session: Session, actor: User, *, title: str | None, bio: str, specialities: str | list[str],
                        now: datetime, active: bool = True) -> ExpertProfile:
    """Create or update the valuer's own profile in the expert pool."""
    require(actor, Role.VALUER)
    symbols = parse_symbols(session, specialities)
    if not symbols:
        raise InvalidInput("Give at least one IPC speciality.")
    profile = session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == actor.id))
    before = None
    if profile is None:
        profile = ExpertProfile(user_id=actor.id, created_at=now, updated_at=now)
        session.add(profile)
    else:
        before = {"title": profile.title, "bio": profile.bio, "active": profile.active, "symbols": profile.symbols}
    profile.title = (title or "").strip()[:60] or None
    profile.bio = (bio or "").strip()[:4000]
    profile.active = active
    profile.updated_at = now
    profile.specialities = [ExpertSpeciality(ipc_symbol=s) for s in symbols]
    session.flush()
    record(session, actor=actor, action="expert.profile_saved", entity_type="expert_profile", entity_id=profile.id,
           now=now, before=before, after={"title": profile.title, "bio": profile.bio, "active": active,
                                          "symbols": symbols})
    return profile


def own_profile(session: Session, actor: User) -> ExpertProfile | None:
    return session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == actor.id))


def list_experts(session: Session) -> list[ExpertProfile]:
    profiles = session.scalars(select(ExpertProfile).where(ExpertProfile.active.is_(True))
                               .options(selectinload(ExpertProfile.specialities), selectinload(ExpertProfile.user))
                               .order_by(ExpertProfile.id)).all()
    return [p for p in profiles if p.user.can_act and p.user.role is Role.VALUER]


@dataclass
class RankedExpert:
    expert: ExpertProfile
    score: int
    common: list[str]  # the specialities that match the assets


def rank_experts(session: Session, assets: list[IpAsset], org_id: int | None = None) -> list[RankedExpert]:
    """Experts by IPC overlap with the assets (best first), leaving out those with a conflict on any of them or a
    tie with the asking organisation `org_id`."""
    wanted = set()
    for asset in assets:
        wanted |= ipc_prefixes(asset.ipc_codes)
    load = dict(session.execute(select(Consultation.expert_id, func.count()).where(
        Consultation.status == ConsultationStatus.REQUESTED).group_by(Consultation.expert_id)).all())
    ranked = []
    for expert in list_experts(session):
        if any(conflict_reasons(session, expert.user, asset) for asset in assets):
            continue
        if org_id is not None and tied_to_org(session, expert.user, org_id):
            continue
        common = [s for s in expert.symbols if s in wanted]
        ranked.append(RankedExpert(expert, sum(WEIGHTS[len(s)] for s in common), common))
    # Ties go to the expert with fewer open requests, then to the longest-standing member.
    return sorted(ranked, key=lambda r: (-r.score, load.get(r.expert.id, 0), r.expert.id))


def _subject_assets(session: Session, actor: User, need_id: int | None, asset_id: int | None):
    if (need_id is None) == (asset_id is None):
        raise InvalidInput("Choose one of your financing needs or one of your assets.")
    if need_id is not None:
        need = session.get(Need, need_id)
        if need is None or need.org_id != actor.organisation_id:
            raise NotFound("This financing need does not exist.")
        return need, [na.asset for na in need.assets]
    asset = session.get(IpAsset, asset_id)
    if asset is None or asset.owner_org_id != actor.organisation_id:
        raise NotFound("This asset does not exist.")
    return None, [asset]


def subject_assets(session: Session, consultation: Consultation) -> list[IpAsset]:
    if consultation.need is not None:
        return [na.asset for na in consultation.need.assets]
    return [consultation.asset] if consultation.asset is not None else []


def request_consultation(session: Session, actor: User, *, question: str, now: datetime, need_id: int | None = None,
                         asset_id: int | None = None, expert_id: int | None = None) -> Consultation:
    """An enterprise asks a chosen expert, or the best-matching free one when `expert_id` is None."""
    require(actor, Role.ENTERPRISE)
    if not (question or "").strip():
        raise InvalidInput("Write your question.")
    _need, assets = _subject_assets(session, actor, need_id, asset_id)
    if expert_id is not None:
        expert = session.get(ExpertProfile, expert_id)
        if expert is None or expert not in list_experts(session):
            raise NotFound("This expert is not in the pool.")
        if tied_to_org(session, expert.user, actor.organisation_id) or any(
                conflict_reasons(session, expert.user, asset) for asset in assets):
            raise Conflict("This expert has a conflict of interest with your assets; choose another expert "
                           "or let the platform match one.")
        matched = False
    else:
        ranked = rank_experts(session, assets, actor.organisation_id)
        if not ranked:
            raise Conflict("No expert in the pool is free to advise on these assets.")
        expert, matched = ranked[0].expert, True
    consultation = Consultation(org_id=actor.organisation_id, requested_by_id=actor.id, need_id=need_id,
                                asset_id=asset_id, expert_id=expert.id, matched=matched,
                                question=question.strip()[:4000], status=ConsultationStatus.REQUESTED, created_at=now)
    session.add(consultation)
    session.flush()
    record(session, actor=actor, action="consultation.requested", entity_type="consultation",
           entity_id=consultation.id, now=now, after=snapshot(consultation, FIELDS))
    notify(session, msgid="%(org)s asked you for a financing-plan consultation.", now=now,
           user_id=expert.user_id, link=f"/consultations/{consultation.id}", org=actor.organisation.name)
    return consultation


def reroute_conflicted(session: Session, valuer: User, now: datetime) -> int:
    """After `valuer` declared a tie: every consultation still waiting on the valuer (or, for a whole-agency tie, on
    its agency's experts) that the tie now touches goes to the best free expert instead, or is closed when none is
    free; the enterprise is told either way. Direct and matched requests alike. Returns how many were moved."""
    experts = select(ExpertProfile.id).join(User, User.id == ExpertProfile.user_id).where(
        or_(User.id == valuer.id, User.organisation_id == valuer.organisation_id) if valuer.organisation_id
        else User.id == valuer.id)
    waiting = session.scalars(select(Consultation).where(Consultation.expert_id.in_(experts),
                                                         Consultation.status == ConsultationStatus.REQUESTED)
                              .order_by(Consultation.id)).all()
    moved = 0
    for consultation in waiting:
        expert_user = consultation.expert.user
        assets = subject_assets(session, consultation)
        if not (tied_to_org(session, expert_user, consultation.org_id)
                or any(conflict_reasons(session, expert_user, a) for a in assets)):
            continue
        before = snapshot(consultation, FIELDS)
        link = f"/consultations/{consultation.id}"
        ranked = [r for r in rank_experts(session, assets, consultation.org_id)
                  if r.expert.id != consultation.expert_id]
        if ranked:
            consultation.expert_id, consultation.matched = ranked[0].expert.id, True
            session.flush()
            session.refresh(consultation)
            record(session, actor=valuer, action="consultation.rerouted", entity_type="consultation",
                   entity_id=consultation.id, now=now, before=before, after=snapshot(consultation, FIELDS))
            notify(session, msgid="%(org)s asked you for a financing-plan consultation.", now=now, user_id=consultation.expert.user_id, link=link, org=consultation.org.name)  # noqa: E501
            notify(session, msgid=N_("The expert you asked declared a conflict of interest; another expert now has your consultation."), now=now, org_id=consultation.org_id, link=link)  # noqa: E501
        else:
            CONSULTATION.move(session, valuer, consultation, ConsultationStatus.CLOSED, now,
                              action="consultation.closed_for_conflict", also={"closed_at": now})
            notify(session, msgid=N_("The expert you asked declared a conflict of interest and no other expert is free; the consultation was closed."), now=now, org_id=consultation.org_id, link=link)  # noqa: E501
        moved += 1
    return moved


def answer_consultation(session: Session, actor: User, consultation_id: int, *, answer: str, now: datetime,
                        suggested_amount: Decimal | None = None, suggested_term_months: int | None = None,
                        suggested_value_type: ValueType | None = None) -> Consultation:
    consultation = consultation_for(session, actor, consultation_id, lock=True)
    if consultation.expert.user_id != actor.id:
        raise Forbidden("Only the expert asked can answer.")
    if not (answer or "").strip():
        raise InvalidInput("Write your suggestion.")
    if suggested_amount is not None and not (Decimal(0) < suggested_amount < Decimal("1e16")):
        raise InvalidInput("The suggested amount must be positive.")
    if suggested_term_months is not None and not 1 <= suggested_term_months <= 360:
        raise InvalidInput("The suggested term must be 1 to 360 months.")
    CONSULTATION.move(session, actor, consultation, ConsultationStatus.ANSWERED, now, also={
        "answer": answer.strip()[:8000], "suggested_amount": suggested_amount,
        "suggested_term_months": suggested_term_months, "suggested_value_type": suggested_value_type,
        "answered_at": now})
    notify(session, msgid="Expert %(expert)s answered your consultation.", now=now, org_id=consultation.org_id,
           link=f"/consultations/{consultation.id}", expert=actor.name)
    return consultation


def close_consultation(session: Session, actor: User, consultation_id: int, now: datetime) -> Consultation:
    consultation = consultation_for(session, actor, consultation_id, lock=True)
    if actor.organisation_id != consultation.org_id:
        raise Forbidden("Only the enterprise that asked can close the consultation.")
    CONSULTATION.move(session, actor, consultation, ConsultationStatus.CLOSED, now, also={"closed_at": now})
    notify(session, msgid="%(org)s closed the consultation.", now=now, user_id=consultation.expert.user_id,
           link=f"/consultations/{consultation.id}", org=consultation.org.name)
    return consultation


def can_view_consultation(viewer: User, consultation: Consultation) -> bool:
    return (viewer.role is Role.STAFF or (viewer.organisation_id is not None
                                          and viewer.organisation_id == consultation.org_id)
            or consultation.expert.user_id == viewer.id)


def consultation_for(session: Session, viewer: User, consultation_id: int, *, lock: bool = False) -> Consultation:
    """The consultation `viewer` may see (404 otherwise); `lock` takes its row lock first, for a change of state."""
    consultation = lock_row(session, Consultation, consultation_id) if lock else session.get(Consultation,
                                                                                             consultation_id)
    if consultation is None or not can_view_consultation(viewer, consultation):
        raise NotFound("This consultation does not exist.")
    return consultation


def consultations_for(session: Session, viewer: User) -> list[Consultation]:
    query = select(Consultation).order_by(Consultation.id.desc())
    if viewer.role is not Role.STAFF:
        mine = select(ExpertProfile.id).where(ExpertProfile.user_id == viewer.id)
        clauses = [Consultation.expert_id.in_(mine)]
        if viewer.organisation_id is not None and viewer.role is Role.ENTERPRISE:
            clauses.append(Consultation.org_id == viewer.organisation_id)
        query = query.where(or_(*clauses))
    return list(session.scalars(query.limit(200)))
