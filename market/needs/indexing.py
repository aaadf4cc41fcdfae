"""The needs index: published needs searchable through `search/` with facets, kept in step by the same outbox the
IP area uses (`search_outbox` rows with index_name "needs", written in the transaction of the change).

Adapter note: `market.ip.indexing.drain`/`reindex` only handle the patents index, so this module has its own drain and
reindex for the needs rows of the shared outbox, and reuses the app's one backend (`market.ip.indexing.get_backend`).
Only needs a bank may see (published, in talks) are in the index; any other state deletes the document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from market.ip.models import OutboxOp, SearchOutbox
from market.needs.models import PUBLIC_STATUSES, Need
from search import Schema, SearchBackend, SearchError

log = logging.getLogger(__name__)

INDEX_NAME = "needs"
SCHEMA = Schema(
    INDEX_NAME,
    text_fields={"title": 3.0, "purpose": 1.0, "org_name": 1.0},
    keyword_fields=("industry", "group", "amount_band", "ip_kind", "district", "ipc_section", "ipc_class", "status"),
    numeric_fields=("amount", "term"),
    date_fields=("published_at",),
)


def get_backend(app=None) -> SearchBackend:
    from market.ip.indexing import get_backend as app_backend

    return app_backend(app)


def ensure_ready(backend: SearchBackend) -> None:
    if getattr(backend, "_needs_ready", False):
        return
    backend.ensure_index(SCHEMA)
    backend._needs_ready = True  # type: ignore[attr-defined]


def enqueue(session: Session, need_id: int, now: datetime) -> None:
    """Queue an index change of one need in the caller's transaction."""
    session.add(SearchOutbox(index_name=INDEX_NAME, doc_id=str(need_id), op=OutboxOp.UPSERT, created_at=now,
                             attempts=0))


def indexable(need: Need) -> bool:
    return need.status in PUBLIC_STATUSES


def document(need: Need) -> dict:
    return {
        "id": str(need.id),
        "title": need.title,
        "purpose": need.purpose,
        "org_name": need.org.name if need.org else "",
        "industry": need.industry_code[:2] if need.industry_code else None,
        "group": list(need.group_codes or []),
        "amount_band": need.amount_band,
        "ip_kind": list(need.ip_kinds or []),
        "district": need.district_code,
        "ipc_section": list(need.ipc_sections or []),
        "ipc_class": list(need.ipc_classes or []),
        "status": need.status.value,
        "amount": need.amount,
        "term": need.term_months,
        "published_at": need.published_at,
    }


def _load(session: Session, ids: Iterable[int]) -> dict[int, Need]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.scalars(select(Need).where(Need.id.in_(ids)).options(selectinload(Need.org)))
    return {n.id: n for n in rows}


def drain(session: Session, backend: SearchBackend, limit: int = 1_000_000, batch_size: int = 500) -> dict:
    """Apply the needs rows of the outbox in id order; keeps them (counting the attempt) when the engine is down.
    Only flushes; the caller commits."""
    applied, error = 0, None
    while applied < limit:
        rows = session.scalars(select(SearchOutbox).where(SearchOutbox.index_name == INDEX_NAME)
                               .order_by(SearchOutbox.id).limit(min(batch_size, limit - applied))).all()
        if not rows:
            break
        ids = {int(r.doc_id) for r in rows if r.doc_id.isdigit()}
        needs = _load(session, ids)
        docs = [document(needs[i]) for i in sorted(needs) if indexable(needs[i])]
        gone = [str(i) for i in sorted(ids) if i not in needs or not indexable(needs[i])]
        try:
            ensure_ready(backend)
            if docs:
                backend.index(INDEX_NAME, docs)
            if gone:
                backend.delete(INDEX_NAME, gone)
        except SearchError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            for row in rows:
                row.attempts += 1
                row.last_error = error
            session.flush()
            break
        session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows])))
        session.flush()
        applied += len(rows)
    if applied:
        try:
            backend.refresh(INDEX_NAME)
        except SearchError as exc:
            error = error or str(exc)
    remaining = session.scalar(select(func.count()).select_from(SearchOutbox)
                               .where(SearchOutbox.index_name == INDEX_NAME)) or 0
    return {"applied": applied, "remaining": remaining, "error": error}


def all_documents(session: Session, batch_size: int = 500) -> Iterator[dict]:
    last = 0
    while True:
        rows = session.scalars(select(Need).where(Need.id > last, Need.status.in_(PUBLIC_STATUSES))
                               .order_by(Need.id).limit(batch_size).options(selectinload(Need.org))).all()
        if not rows:
            return
        for need in rows:
            yield document(need)
        last = rows[-1].id


def reindex(session: Session, backend: SearchBackend) -> int:
    """Rebuild the needs index from the database; the needs outbox rows queued before are then obsolete."""
    high = session.scalar(select(func.max(SearchOutbox.id)).where(SearchOutbox.index_name == INDEX_NAME))
    written = backend.rebuild(SCHEMA, all_documents(session))
    backend._needs_ready = True  # type: ignore[attr-defined]
    if high is not None:
        session.execute(delete(SearchOutbox).where(SearchOutbox.index_name == INDEX_NAME, SearchOutbox.id <= high))
        session.flush()
    return written


def quick_drain(limit: int = 200) -> dict | None:
    """After a web write: bring the needs index up to date; never raises (the outbox keeps what is left)."""
    from market.db import db

    try:
        result = drain(db.session, get_backend(), limit=limit)
        db.session.commit()
        return result
    except Exception:  # noqa: BLE001 - a search problem never fails the request
        log.warning("needs quick drain failed; the outbox keeps the changes", exc_info=True)
        db.session.rollback()
        return None
