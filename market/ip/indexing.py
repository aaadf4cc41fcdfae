"""The patent index: document shape, the app's search backend, outbox drain and full reindex.

The database is the source of truth. Services queue `search_outbox` rows in the same transaction as a change;
`drain` applies them (reloading each asset from the database) and deletes the rows only after the engine took
them; `reindex` rebuilds the whole index from the database. An engine that is down never loses a write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from flask import Flask, current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from market.ip import numbers
from market.ip.models import IpAsset, SearchOutbox
from market.ip.service import INDEX_NAME, eligible_kinds_in_force
from market.reference.choices import IPC_SECTION_ZH
from market.reference.models import IpcTitle
from search import Schema, SearchBackend, SearchError, make_backend

log = logging.getLogger(__name__)

SCHEMA = Schema(
    INDEX_NAME,
    text_fields={"title": 3.0, "abstract": 1.0, "applicants": 1.0, "ipc_titles": 1.0},
    keyword_fields=("kind", "legal_status", "pledge_state", "ipc_section", "ipc_class", "ipc_subclass", "district",
                    "industry", "owner", "pledgeable_kind", "frozen"),
    numeric_fields=("valuation",),
    date_fields=("filing_date", "expiry_date", "created_at"),
)
# Remaining life is not stored: the "life_band" facet is computed at query time from expiry_date and today
# (finder.life_bands), so the index never goes stale as time passes.
_lock = threading.Lock()


# --------------------------------------------------------------------------------------------- app backend


def init_app(app: Flask) -> None:
    app.extensions.setdefault("search", None)


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The app's one backend (created on first use; no I/O before). Elasticsearch when configured."""
    app = app or current_app._get_current_object()
    backend = app.extensions.get("search")
    if backend is None:
        with _lock:
            backend = app.extensions.get("search")
            if backend is None:
                prefix = app.config.get("SEARCH_INDEX_PREFIX") or "market"
                if not prefix.endswith(("-", "_")):
                    prefix += "-"
                backend = make_backend(app.config.get("ELASTICSEARCH_URL"), app.config["SEARCH_EMBEDDED_PATH"],
                                       index_prefix=prefix)
                app.extensions["search"] = backend
    return backend


def ensure_ready(backend: SearchBackend) -> None:
    """Create the index when missing (once per backend object; raises SearchUnavailable when down)."""
    if getattr(backend, "_ip_ready", False):
        return
    backend.ensure_index(SCHEMA)
    backend._ip_ready = True  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- documents


class DocBuilder:
    """Builds index documents; caches reference lookups for a batch."""

    def __init__(self, session: Session, today: date):
        self.session = session
        self.today = today
        self.kinds = eligible_kinds_in_force(session, today)
        self._titles: dict[str, str] | None = None
        self._valuations: dict[int, object] | None = None

    def valuations(self) -> dict[int, object]:
        """Amount of each asset's latest valuation report in force today, loaded once per batch."""
        if self._valuations is None:
            from market.valuations.service import latest_amounts

            self._valuations = latest_amounts(self.session, self.today)
        return self._valuations

    def ipc_titles(self, codes: list[str]) -> str:
        if self._titles is None:
            self._titles = {row.symbol: row.title_en for row in self.session.scalars(select(IpcTitle))}
        parts = []
        for code in codes:
            for symbol in {code[:1], code[:3], code[:4]}:
                title = self._titles.get(symbol)
                if title and title not in parts:
                    parts.append(title)
            zh = IPC_SECTION_ZH.get(code[:1])
            if zh and zh not in parts:
                parts.append(zh)
        return " ; ".join(parts)

    def document(self, asset: IpAsset) -> dict:
        codes = list(asset.ipc_codes or [])
        org = asset.owner
        return {
            "id": str(asset.id),
            "title": asset.title,
            "abstract": asset.abstract,
            "applicants": asset.applicants,
            "ipc_titles": self.ipc_titles(codes),
            "kind": asset.kind.value,
            "legal_status": asset.legal_status.value,
            "pledge_state": asset.pledge_state.value,
            "ipc_section": sorted({c[:1] for c in codes}),
            "ipc_class": sorted({c[:3] for c in codes if len(c) >= 3}),
            "ipc_subclass": sorted({c[:4] for c in codes if len(c) >= 4}),
            "district": org.district_code if org else None,
            "industry": org.industry_code[:2] if org and org.industry_code else None,
            "owner": str(org.id) if org else None,
            "pledgeable_kind": asset.kind in self.kinds,
            "frozen": bool(asset.frozen),
            "valuation": self.valuations().get(asset.id),
            "filing_date": asset.filing_date,
            "expiry_date": numbers.expiry_date(asset.kind, asset.filing_date),
            "created_at": asset.created_at,  # saved searches alert on patents created since their last check
        }


def _load(session: Session, ids: Iterable[int]) -> dict[int, IpAsset]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.scalars(select(IpAsset).where(IpAsset.id.in_(ids)).options(selectinload(IpAsset.owner)))
    return {a.id: a for a in rows}


# ------------------------------------------------------------------------------------------------- drain


@dataclass
class DrainResult:
    applied: int = 0  # outbox rows applied and deleted
    remaining: int = 0
    error: str | None = None


def drain(session: Session, backend: SearchBackend, limit: int = 10_000_000, *, now: datetime | None = None,
          batch_size: int = 500) -> DrainResult:
    """Apply up to `limit` outbox rows in id order. Stops (keeping the rows) when the engine is unavailable.

    Only flushes; the caller commits (the deletions of applied rows and the attempt counters).
    """
    from market.db import utcnow

    now = now or utcnow()
    result = DrainResult()
    builder = DocBuilder(session, now.date())
    done = 0
    while done < limit:
        rows = session.scalars(
            select(SearchOutbox).where(SearchOutbox.index_name == INDEX_NAME).order_by(SearchOutbox.id)
            .limit(min(batch_size, limit - done))
        ).all()
        if not rows:
            break
        doc_ids = {int(r.doc_id) for r in rows if r.doc_id.isdigit()}
        assets = _load(session, doc_ids)
        docs = [builder.document(assets[i]) for i in sorted(assets)]
        gone = [str(i) for i in sorted(doc_ids - set(assets))] + [r.doc_id for r in rows if not r.doc_id.isdigit()]
        try:
            ensure_ready(backend)
            if docs:
                backend.index(INDEX_NAME, docs)
            if gone:
                backend.delete(INDEX_NAME, gone)
        except SearchError as exc:
            message = f"{type(exc).__name__}: {exc}"[:500]
            for row in rows:
                row.attempts += 1
                row.last_error = message
            session.flush()
            result.error = message
            break
        session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows])))
        session.flush()
        done += len(rows)
        result.applied += len(rows)
    if result.applied:
        try:
            backend.refresh(INDEX_NAME)
        except SearchError as exc:
            result.error = result.error or str(exc)
    result.remaining = session.scalar(
        select(func.count()).select_from(SearchOutbox).where(SearchOutbox.index_name == INDEX_NAME)
    ) or 0
    if result.applied and not result.error and not result.remaining:
        alert_saved_searches(session, backend, now)
    return result


def alert_saved_searches(session: Session, backend: SearchBackend, now: datetime) -> int:
    """Saved searches: notify banks of new matching patents (a search engine failure only postpones it)."""
    from market.ip.saved import check_saved_searches

    try:
        with session.begin_nested():
            return check_saved_searches(session, backend, now)
    except SearchError:
        log.warning("saved-search alerts postponed: search engine unavailable", exc_info=True)
        return 0


def all_documents(session: Session, today: date, batch_size: int = 1000) -> Iterator[dict]:
    builder = DocBuilder(session, today)
    last = 0
    while True:
        rows = session.scalars(
            select(IpAsset).where(IpAsset.id > last).order_by(IpAsset.id).limit(batch_size)
            .options(selectinload(IpAsset.owner))
        ).all()
        if not rows:
            return
        for asset in rows:
            yield builder.document(asset)
        last = rows[-1].id


def reindex(session: Session, backend: SearchBackend, now: datetime | None = None) -> int:
    """Rebuild the index from the database; outbox rows queued before the rebuild started are then obsolete."""
    from market.db import utcnow

    now = now or utcnow()
    high = session.scalar(select(func.max(SearchOutbox.id)).where(SearchOutbox.index_name == INDEX_NAME))
    written = backend.rebuild(SCHEMA, all_documents(session, now.date()))
    backend._ip_ready = True  # type: ignore[attr-defined]
    if high is not None:
        session.execute(delete(SearchOutbox).where(SearchOutbox.index_name == INDEX_NAME, SearchOutbox.id <= high))
        session.flush()
    alert_saved_searches(session, backend, now)
    return written


def quick_drain(limit: int = 200) -> DrainResult | None:
    """After a web write: try to bring the index up to date; never raises (the outbox keeps what is left)."""
    from market.db import db

    try:
        result = drain(db.session, get_backend(), limit=limit)
        db.session.commit()
        return result
    except Exception:  # noqa: BLE001 - a search problem never fails the request
        log.warning("quick drain failed; the outbox keeps the changes", exc_info=True)
        db.session.rollback()
        return None


def lag(session: Session, now: datetime | None = None) -> tuple[int, float | None]:
    """(outbox size, age of the oldest row in seconds)."""
    from market.db import utcnow

    now = now or utcnow()
    count, oldest = session.execute(
        select(func.count(), func.min(SearchOutbox.created_at)).where(SearchOutbox.index_name == INDEX_NAME)
    ).one()
    return count or 0, ((now - oldest).total_seconds() if oldest else None)
