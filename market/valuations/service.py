"""Valuation reports: create, issue (superseding the agency's earlier report of the same type), withdraw, attach
the PDF, and who may read them.

Public functions other areas call:

- `latest_valuation(session, asset_id, on, value_types=None) -> Valuation | None`: the report in force on `on`
  (issued, not withdrawn by then, valuation date <= on <= validity end), of one of `value_types` when given
  (a list of `ValueType`); the latest valuation date wins, then the latest issue.
- `valuations_for_asset(session, asset_id) -> list[Valuation]`: every issued or withdrawn report, newest first.
- `visible_valuations(session, viewer, asset_id) -> list[Valuation]`: the same, empty for a viewer who may not
  read the asset's reports (for the `templates/valuations/_asset_valuations.html` partial).
- `market.valuations.accuracy.valuer_accuracy(session)` (re-exported here): accountability of valuers against later
  disposal prices on the exchange.
- `market.valuations.conflicts.conflict_reasons(session, valuer, asset)`: the conflict-of-interest rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, OrgKind, Role, User
from market.audit.service import record, snapshot
from market.db import get_or_fail, lock_row
from market.errors import Forbidden, InvalidInput, NotFound
from market.ip.models import IpAsset
from market.notices.service import notify
from market.security import require
from market.valuations import files
from market.valuations.accuracy import AccuracyRow, valuer_accuracy  # noqa: F401  (public)
from market.valuations.conflicts import check_no_conflict
from market.valuations.models import (
    REPORT_STATUSES,
    Valuation,
    ValuationMethod,
    ValuationStatus,
    ValueType,
)
from market.valuations.states import VALUATION, VALUATION_FIELDS

FIELDS = VALUATION_FIELDS
# Who reads issued reports besides the agency, the owner and staff: the parties who lend against or share the risk.
FINANCING_ROLES = frozenset({Role.BANK, Role.GUARANTOR, Role.INSURER})


@dataclass
class ValuationInput:
    asset_id: int
    value_type: ValueType
    amount: Decimal
    valuation_date: date
    method: ValuationMethod
    signer_name: str
    signer_qualification: str
    valid_until: date | None = None
    basis: str | None = None


@dataclass
class ReportFile:
    data: bytes
    filename: str
    upload_dir: str | Path


def one_year_after(day: date) -> date:
    """The default validity end: the same day a year later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def agency_of(actor: User) -> Organisation:
    """The valuation agency `actor` issues reports for: a valuer (see `require`) of a valuation agency."""
    org = require(actor, Role.VALUER)
    if org is None or org.kind is not OrgKind.VALUATION_AGENCY:
        raise Forbidden("Only a valuer of a valuation agency can issue valuation reports.")
    return org


def get_valuation(session: Session, valuation_id: int) -> Valuation:
    valuation = get_or_fail(session, Valuation, valuation_id, "This valuation report does not exist.")
    return valuation


def _own(session: Session, actor: User, valuation_id: int) -> Valuation:
    agency_of(actor)
    valuation = get_valuation(session, valuation_id)
    if valuation.agency_org_id != actor.organisation_id:
        raise NotFound("This valuation report does not exist.")
    return valuation


def _check_input(data: ValuationInput, today: date) -> date:
    if data.amount is None or Decimal(data.amount) <= 0:
        raise InvalidInput("The value must be a positive amount.")
    if Decimal(data.amount) >= Decimal("1e16"):
        raise InvalidInput("The value is too large.")
    if not (data.signer_name or "").strip() or not (data.signer_qualification or "").strip():
        raise InvalidInput("A report needs a responsible signer: name and qualification number.")
    if data.valuation_date > today:
        raise InvalidInput("The valuation date cannot be in the future.")
    valid_until = data.valid_until or one_year_after(data.valuation_date)
    if valid_until < data.valuation_date:
        raise InvalidInput("The validity must end on or after the valuation date.")
    return valid_until


def create_valuation(session: Session, actor: User, data: ValuationInput, now: datetime, *, issue: bool = False,
                     report: ReportFile | None = None, notify_owner: bool = True) -> Valuation:
    """A draft report (issued at once when `issue`), refused when the valuer has a conflict of interest."""
    agency_of(actor)
    asset = get_or_fail(session, IpAsset, data.asset_id, "This asset does not exist.")
    valid_until = _check_input(data, now.date())
    check_no_conflict(session, actor, asset)
    if report is not None:
        files.check_pdf(report.data, report.filename)
    valuation = Valuation(
        asset_id=asset.id, agency_org_id=actor.organisation_id, valuer_id=actor.id, value_type=data.value_type,
        amount=Decimal(data.amount).quantize(Decimal("0.01")), valuation_date=data.valuation_date,
        valid_until=valid_until, method=data.method, signer_name=data.signer_name.strip()[:60],
        signer_qualification=data.signer_qualification.strip()[:40], basis=(data.basis or "").strip() or None,
        status=ValuationStatus.DRAFT, created_at=now)
    session.add(valuation)
    session.flush()
    record(session, actor=actor, action="valuation.created", entity_type="valuation", entity_id=valuation.id,
           now=now, after=snapshot(valuation, FIELDS))
    if report is not None:
        _attach(session, actor, valuation, report, now)
    if issue:
        issue_valuation(session, actor, valuation.id, now, notify_owner=notify_owner)
    return valuation


def _attach(session: Session, actor: User, valuation: Valuation, report: ReportFile, now: datetime) -> None:
    before = snapshot(valuation, FIELDS)
    files.delete_after_commit(session, report.upload_dir, valuation.file_key)  # a draft's file replaced
    valuation.file_key = files.store_pdf(report.upload_dir, report.data)
    valuation.file_name = files.safe_download_name(report.filename, f"valuation-{valuation.id}.pdf")
    valuation.file_size = len(report.data)
    session.flush()
    record(session, actor=actor, action="valuation.file_attached", entity_type="valuation", entity_id=valuation.id,
           now=now, before=before, after=snapshot(valuation, FIELDS))


def attach_report_file(session: Session, actor: User, valuation_id: int, report: ReportFile,
                       now: datetime) -> Valuation:
    """Attach the PDF to a draft, or to an issued report that has none yet (an issued file is never replaced)."""
    valuation = _own(session, actor, valuation_id)
    if valuation.status is ValuationStatus.WITHDRAWN or (
            valuation.status is ValuationStatus.ISSUED and valuation.file_key is not None):
        raise InvalidInput("The file of an issued or withdrawn report cannot be changed.")
    files.check_pdf(report.data, report.filename)
    _attach(session, actor, valuation, report, now)
    return valuation


def _withdraw(session: Session, actor: User, valuation: Valuation, now: datetime, reason: str,
              superseded_by: Valuation | None = None) -> None:
    VALUATION.move(session, actor, valuation, ValuationStatus.WITHDRAWN, now, note=reason[:500],
                   action="valuation.superseded" if superseded_by else None,
                   also={"withdrawn_at": now, "withdrawal_reason": reason[:500],
                         "superseded_by_id": superseded_by.id if superseded_by else None})


def issue_valuation(session: Session, actor: User, valuation_id: int, now: datetime, *,
                    notify_owner: bool = True) -> Valuation:
    """Issue a draft. The agency's earlier issued report of the same asset and value type is superseded.

    The asset's row lock first: two drafts of one asset issued at once queue, and the second supersedes the first
    (never two issued reports of one asset, agency and value type)."""
    valuation = _own(session, actor, valuation_id)
    lock_row(session, IpAsset, valuation.asset_id)
    session.refresh(valuation)
    VALUATION.check(valuation.status, ValuationStatus.ISSUED)
    check_no_conflict(session, actor, valuation.asset)  # ties may have appeared since the draft
    VALUATION.move(session, actor, valuation, ValuationStatus.ISSUED, now, also={"issued_at": now})
    older = session.scalars(select(Valuation).where(
        Valuation.asset_id == valuation.asset_id, Valuation.agency_org_id == valuation.agency_org_id,
        Valuation.value_type == valuation.value_type, Valuation.status == ValuationStatus.ISSUED,
        Valuation.id != valuation.id)).all()
    for old in older:
        _withdraw(session, actor, old, now, f"superseded by report {valuation.id}", superseded_by=valuation)
    if notify_owner and valuation.asset.owner_org_id is not None:
        notify(session, msgid="A valuation report for %(title)s was issued by %(agency)s.", now=now,
               org_id=valuation.asset.owner_org_id, link=f"/valuations/{valuation.id}",
               title=valuation.asset.title[:80], agency=valuation.agency.name)
    return valuation


def withdraw_valuation(session: Session, actor: User, valuation_id: int, reason: str, now: datetime) -> Valuation:
    valuation = _own(session, actor, valuation_id)
    if not (reason or "").strip():
        raise InvalidInput("Say why the report is withdrawn.")
    _withdraw(session, actor, valuation, now, reason.strip())
    return valuation


# --- reading -------------------------------------------------------------------------------------------------


def can_view(viewer: User | None, valuation: Valuation) -> bool:
    if viewer is None or not getattr(viewer, "is_authenticated", True):
        return False
    if viewer.role is Role.STAFF:
        return True
    if viewer.organisation_id is not None and viewer.organisation_id == valuation.agency_org_id:
        return True
    if valuation.status is ValuationStatus.DRAFT:
        return False
    if viewer.organisation_id is not None and viewer.organisation_id == valuation.asset.owner_org_id:
        return True
    return viewer.role in FINANCING_ROLES


def valuation_for(session: Session, viewer: User, valuation_id: int) -> Valuation:
    """The report when `viewer` may read it; NotFound otherwise (its existence is not revealed)."""
    valuation = get_valuation(session, valuation_id)
    if not can_view(viewer, valuation):
        raise NotFound("This valuation report does not exist.")
    return valuation


def latest_valuation(session: Session, asset_id: int, on: date,
                     value_types: Iterable[ValueType] | None = None) -> Valuation | None:
    query = select(Valuation).where(
        Valuation.asset_id == asset_id, Valuation.issued_at.is_not(None),
        Valuation.status.in_(REPORT_STATUSES), Valuation.valuation_date <= on, Valuation.valid_until >= on)
    if value_types is not None:
        query = query.where(Valuation.value_type.in_([ValueType(v) for v in value_types]))
    candidates = session.scalars(query.order_by(Valuation.valuation_date.desc(), Valuation.issued_at.desc(),
                                                Valuation.id.desc())).all()
    return next((v for v in candidates if v.in_force(on)), None)


def latest_amounts(session: Session, on: date) -> dict[int, Decimal]:
    """Each asset's latest valuation in force on `on` (same choice as `latest_valuation`), in one query."""
    rows = session.scalars(select(Valuation).where(
        Valuation.issued_at.is_not(None), Valuation.status.in_(REPORT_STATUSES), Valuation.valuation_date <= on,
        Valuation.valid_until >= on).order_by(Valuation.asset_id, Valuation.valuation_date.desc(),
                                               Valuation.issued_at.desc(), Valuation.id.desc())).all()
    amounts: dict[int, Decimal] = {}
    for valuation in rows:
        if valuation.asset_id not in amounts and valuation.in_force(on):
            amounts[valuation.asset_id] = valuation.amount
    return amounts


def valuations_for_asset(session: Session, asset_id: int) -> list[Valuation]:
    return list(session.scalars(select(Valuation).where(
        Valuation.asset_id == asset_id, Valuation.status.in_(REPORT_STATUSES))
        .order_by(Valuation.valuation_date.desc(), Valuation.issued_at.desc(), Valuation.id.desc())))


def visible_valuations(session: Session, viewer: User, asset_id: int) -> list[Valuation]:
    return [v for v in valuations_for_asset(session, asset_id) if can_view(viewer, v)]


def agency_valuations(session: Session, actor: User, offset: int = 0, limit: int | None = None) -> list[Valuation]:
    return list(session.scalars(select(Valuation).where(Valuation.agency_org_id == actor.organisation_id)
                                .order_by(Valuation.id.desc()).offset(offset).limit(limit)))


def count_agency_valuations(session: Session, actor: User) -> int:
    return session.scalar(select(func.count()).select_from(Valuation)
                          .where(Valuation.agency_org_id == actor.organisation_id))


def search_assets(session: Session, text: str, limit: int = 20) -> list[IpAsset]:
    """Assets by application/publication number or title words, for the valuer's new-report form."""
    text = (text or "").strip()
    if not text:
        return []
    like = f"%{text}%"
    return list(session.scalars(select(IpAsset).where(or_(
        IpAsset.application_number == text.replace("CN", "").replace(".", ""), IpAsset.publication_number == text,
        IpAsset.title.like(like))).order_by(IpAsset.id).limit(limit)))
