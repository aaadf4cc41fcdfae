"""Rules of the IP registry: registering and editing assets, importing patents, and pledge eligibility.

Every change is audited; the search index follows on its own (`market.outbox` captures the changes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, OrgKind, Role, User
from market.audit.service import record, snapshot
from market.errors import Conflict, Forbidden, InvalidInput, NotFound
from market.ip import numbers
from market.ip.models import (
    PATENT_KINDS,
    VALID_STATUSES,
    IpAsset,
    IpKind,
    LegalStatus,
    PledgeState,
)
from market.policy.kinds import MEASURES_2015_KINDS
from market.policy.service import kinds_in_force
from market.security import require

INDEX_NAME = "patents"
ASSET_FIELDS = [
    "kind", "application_number", "publication_number", "registration_number", "title", "abstract", "ipc_codes",
    "applicants", "inventors", "owner_org_id", "filing_date", "publication_date", "grant_date", "legal_status",
    "legal_status_raw", "legal_status_date", "pledge_state", "frozen", "source",
]
EDITABLE = [f for f in ASSET_FIELDS if f not in ("owner_org_id", "pledge_state", "source")]


def eligible_kinds_in_force(session: Session | None = None, today: date | None = None) -> frozenset[IpKind]:
    """The kinds the policy in force allows (the 2015 measures without a session)."""
    if session is None:
        return MEASURES_2015_KINDS
    return kinds_in_force(session, today or date.today())


# ------------------------------------------------------------------------------------------------- eligibility


def N_(message: str) -> str:  # noqa: N802 - marks a msgid for extraction; translated where shown
    return message



@dataclass
class Eligibility:
    ok: bool
    reasons: list[str] = field(default_factory=list)  # English msgids (translate with gettext)
    remaining_months: int | None = None
    busy: bool = False  # pledged, in disposal or frozen: the asset's state refuses it, not its rights

    def __bool__(self) -> bool:
        return self.ok


def pledgeable(
    asset: IpAsset,
    *,
    today: date,
    term_months: int,
    margin_months: int = 0,
    eligible_kinds: Iterable[IpKind] | None = None,
) -> Eligibility:
    """Can `asset` secure a loan of `term_months` from `today`? The one rule: the search, the patent page and the
    signing of a loan (`market.loans.signing`, with the policy's kinds and the loan's start and term) all ask it.
    An eligible kind, a right in force (of any kind), free, not frozen, and (where the term is known) a remaining
    life of at least the term plus the margin. Every failed rule is listed in `reasons`."""
    kinds = frozenset(eligible_kinds) if eligible_kinds is not None else MEASURES_2015_KINDS
    reasons: list[str] = []
    if asset.kind not in kinds:
        reasons.append(N_("This kind of IP is not an eligible pledge object under the policy in force."))
    if asset.legal_status not in VALID_STATUSES:
        reasons.append(N_("The right is not in force."))
    if asset.pledge_state is PledgeState.PLEDGED:
        reasons.append(N_("The asset is already pledged."))
    elif asset.pledge_state is PledgeState.IN_DISPOSAL:
        reasons.append(N_("The asset is being disposed of."))
    if asset.frozen:
        reasons.append(N_("The asset is frozen (judicial freeze or dispute)."))
    left = numbers.remaining_months(asset.kind, asset.filing_date, today)
    if asset.kind in PATENT_KINDS or asset.kind is IpKind.IC_LAYOUT:
        if left is None:
            reasons.append(N_("The remaining life is unknown (no filing date)."))
        elif left < term_months + margin_months:
            reasons.append(N_("The remaining life is shorter than the loan term plus the margin."))
    busy = asset.frozen or asset.pledge_state is not PledgeState.FREE
    return Eligibility(ok=not reasons, reasons=reasons, remaining_months=left, busy=busy)


# --------------------------------------------------------------------------------------------- registration


@dataclass
class AssetData:
    kind: IpKind
    title: str
    application_number: str | None = None
    publication_number: str | None = None
    registration_number: str | None = None
    abstract: str | None = None
    ipc_codes: list[str] = field(default_factory=list)
    applicants: str | None = None
    inventors: str | None = None
    filing_date: date | None = None
    publication_date: date | None = None
    grant_date: date | None = None
    legal_status: LegalStatus = LegalStatus.APPLICATION
    legal_status_raw: str | None = None
    legal_status_date: date | None = None
    frozen: bool = False


SUBSCRIPTS = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
SUPERSCRIPTS = str.maketrans("0123456789+-=()in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿ")
_MARKUP = re.compile(r"<(sub|sup)>(.*?)</\1>|<[^>]{1,20}>", re.IGNORECASE | re.DOTALL)


def clean_title(title: str) -> str:
    """A patent title as plain text: the office's <sub>/<sup> markup (Al<sub>7</sub>O<sub>3</sub>) becomes Unicode
    sub- and superscripts where they exist (Al₇O₃), the plain characters where not; any other tag is dropped, so no
    page, export or search index ever shows a literal tag."""
    def plain(match: re.Match) -> str:
        tag, inner = match.group(1), match.group(2)
        if tag is None:
            return ""
        table = SUBSCRIPTS if tag.lower() == "sub" else SUPERSCRIPTS
        return inner.translate(table)

    return _MARKUP.sub(plain, title or "").strip()


def clean_ipc(codes: Iterable[str]) -> list[str]:
    out: list[str] = []
    for code in codes:
        code = (code or "").strip().upper().replace(" ", "")
        if not code:
            continue
        if not (len(code) >= 4 and code[0] in "ABCDEFGH" and code[1:3].isdigit() and code[3].isalpha()):
            raise InvalidInput("The IPC code %(code)s is not valid.", code=code)
        if code not in out:
            out.append(code)
    return out


def validate(session: Session, data: AssetData, today: date, exclude_id: int | None = None) -> AssetData:
    """Normalise numbers and check the facts; raise InvalidInput / Conflict."""
    data.title = clean_title(data.title)
    if not data.title:
        raise InvalidInput("The title is required.")
    if len(data.title) > 500:
        raise InvalidInput("The title is too long.")
    if data.application_number:
        data.application_number = numbers.normalise_application_number(data.application_number)
        number_kind = numbers.kind_from_application_number(data.application_number)
        if data.kind in PATENT_KINDS and number_kind is not None and number_kind is not data.kind:
            raise InvalidInput("The application number does not belong to this kind of patent.")
    else:
        data.application_number = None
    if data.publication_number:
        data.publication_number = numbers.normalise_publication_number(data.publication_number)
    else:
        data.publication_number = None
    if data.kind in PATENT_KINDS and not (data.application_number or data.publication_number):
        raise InvalidInput("A patent needs an application or a publication number.")
    data.ipc_codes = clean_ipc(data.ipc_codes)
    for value in (data.filing_date, data.publication_date, data.grant_date, data.legal_status_date):
        if value is not None and value > today:
            raise InvalidInput("Dates cannot be in the future.")
    if data.filing_date and data.grant_date and data.grant_date < data.filing_date:
        raise InvalidInput("The grant date is before the filing date.")
    for column in ("application_number", "publication_number"):
        value = getattr(data, column)
        if value:
            q = select(IpAsset.id).where(getattr(IpAsset, column) == value)
            if exclude_id:
                q = q.where(IpAsset.id != exclude_id)
            if session.scalar(q):
                raise Conflict("An asset with the number %(number)s is already registered.", number=value)
    return data


def register_asset(session: Session, actor: User, data: AssetData, now: datetime) -> IpAsset:
    """An enterprise registers one of its assets."""
    org = require(actor, Role.ENTERPRISE)
    data = validate(session, data, now.date())
    asset = IpAsset(**vars(data), owner_org_id=org.id, pledge_state=PledgeState.FREE, source="owner",
                    created_at=now, updated_at=now)
    session.add(asset)
    session.flush()
    record(session, actor=actor, action="ip.registered", entity_type="ip_asset", entity_id=asset.id, now=now,
           after=snapshot(asset, ASSET_FIELDS))
    return asset


def get_asset(session: Session, asset_id: int) -> IpAsset:
    asset = session.get(IpAsset, asset_id)
    if asset is None:
        raise NotFound("This IP asset does not exist.")
    return asset


def can_edit(actor: User, asset: IpAsset) -> bool:
    if actor.role is Role.STAFF:
        return True
    return actor.role is Role.ENTERPRISE and actor.organisation_id is not None \
        and asset.owner_org_id == actor.organisation_id


def update_asset(session: Session, actor: User, asset_id: int, data: AssetData, now: datetime) -> IpAsset:
    """The owner (or exchange staff) corrects an asset. A pledged or disposed asset keeps its numbers and kind."""
    require(actor, Role.ENTERPRISE, Role.STAFF)
    asset = get_asset(session, asset_id)
    if not can_edit(actor, asset):
        raise Forbidden("You may only edit your own organisation's assets.")
    data = validate(session, data, now.date(), exclude_id=asset.id)
    if asset.pledge_state is not PledgeState.FREE and (
        data.kind != asset.kind or data.application_number != asset.application_number
    ):
        raise Conflict("A pledged asset keeps its kind and number.")
    before = snapshot(asset, ASSET_FIELDS)
    for name in EDITABLE:
        setattr(asset, name, getattr(data, name))
    asset.updated_at = now
    session.flush()
    after = snapshot(asset, ASSET_FIELDS)
    if after != before:
        record(session, actor=actor, action="ip.updated", entity_type="ip_asset", entity_id=asset.id, now=now,
               before=before, after=after)
    return asset


def assets_of(session: Session, org_id: int, offset: int = 0, limit: int | None = None) -> list[IpAsset]:
    return list(session.scalars(select(IpAsset).where(IpAsset.owner_org_id == org_id).order_by(IpAsset.id.desc())
                                .offset(offset).limit(limit)))


def count_assets_of(session: Session, org_id: int) -> int:
    return session.scalar(select(func.count()).select_from(IpAsset).where(IpAsset.owner_org_id == org_id))


# ------------------------------------------------------------------------------------------------ bulk import


def find_by_numbers(session: Session, application_number: str | None, publication_number: str | None):
    for column, value in (("application_number", application_number), ("publication_number", publication_number)):
        if value:
            asset = session.scalar(select(IpAsset).where(getattr(IpAsset, column) == value))
            if asset is not None:
                return asset
    return None


def upsert_patent(
    session: Session, actor: User | None, data: AssetData, now: datetime, *, owner: Organisation | None = None,
    source: str | None = None,
) -> tuple[IpAsset, bool]:
    """Create or update a patent matched by application or publication number (bulk import by staff or CLI).

    Returns (asset, created). Fields the row leaves empty keep their stored value; the owner is set only when given.
    """
    if actor is not None:  # None: the command line
        require(actor, Role.STAFF, verified=False)
    if owner is not None and owner.kind is not OrgKind.ENTERPRISE:
        raise InvalidInput("Assets belong to enterprises.")
    # Normalise the numbers first so the lookup uses the stored form.
    app_no = numbers.normalise_application_number(data.application_number) if data.application_number else None
    pub_no = numbers.normalise_publication_number(data.publication_number) if data.publication_number else None
    asset = find_by_numbers(session, app_no, pub_no)
    if asset is None:
        data = validate(session, data, now.date())
        asset = IpAsset(**vars(data), owner_org_id=owner.id if owner else None, pledge_state=PledgeState.FREE,
                        source=source, created_at=now, updated_at=now)
        session.add(asset)
        session.flush()
        record(session, actor=actor, action="ip.imported", entity_type="ip_asset", entity_id=asset.id, now=now,
               after=snapshot(asset, ASSET_FIELDS))
        return asset, True
    merged = AssetData(**{
        name: (getattr(data, name) if getattr(data, name) not in (None, "", []) else getattr(asset, name))
        for name in vars(data)
    })
    merged.kind = data.kind
    merged.legal_status = data.legal_status
    merged.frozen = asset.frozen
    merged = validate(session, merged, now.date(), exclude_id=asset.id)
    before = snapshot(asset, ASSET_FIELDS)
    for name in EDITABLE:
        setattr(asset, name, getattr(merged, name))
    if owner is not None:
        asset.owner_org_id = owner.id
    if source:
        asset.source = source
    session.flush()
    after = snapshot(asset, ASSET_FIELDS)
    if after != before:
        asset.updated_at = now
        record(session, actor=actor, action="ip.reimported", entity_type="ip_asset", entity_id=asset.id, now=now,
               before=before, after=after)
    return asset, False
