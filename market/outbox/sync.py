"""Bringing an index up to date: `open_index` (create, check its identity record), `drain` (apply the outbox rows),
`reindex` (rebuild from the database), `quick_drain` after a web write."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.outbox.backend import get_backend, ready_indexes, stamp_for
from market.outbox.capture import forget_queued
from market.outbox.indexes import DrainResult, OutboxIndex
from market.outbox.models import SearchOutbox, pending
from search import SearchBackend, SearchError

log = logging.getLogger(__name__)
_lock = threading.RLock()


def open_index(session: Session, backend: SearchBackend, index: OutboxIndex) -> None:
    """Create the index when missing and check its identity record, once per backend object and index.

    An index whose record names another database, another document version, or none (created empty, or written
    before records existed) is rebuilt from this database right away: search never answers from another
    database's index. Raises SearchUnavailable when the engine is down (checked again next time)."""
    if index.name in ready_indexes(backend):
        return
    with _lock:
        if index.name in ready_indexes(backend):
            return
        backend.ensure_index(index.schema)
        want = stamp_for(session, index)
        have = backend.stamp(index.name)
        if have != want:
            log.warning("%s was built from %s, this database is %s: rebuilding it from the database",
                        index.name, have or "an unknown source", want)
            reindex(session, backend, index)
        ready_indexes(backend).add(index.name)



def drain(session: Session, backend: SearchBackend, index: OutboxIndex, limit: int = 10_000_000, *,
          now: datetime | None = None, batch_size: int = 500) -> DrainResult:
    """Apply up to `limit` outbox rows of the index in id order. Stops (keeping the rows) when the engine is
    unavailable. Only flushes; the caller commits (the deletions of applied rows and the attempt counters)."""
    now = now or utcnow()
    name = index.name
    result = DrainResult()
    builder = index.builder(session, now)
    while result.applied < limit:
        rows = session.scalars(
            select(SearchOutbox).where(SearchOutbox.index_name == name).order_by(SearchOutbox.id)
            .limit(min(batch_size, limit - result.applied))
        ).all()
        if not rows:
            break
        try:
            if index.name not in ready_indexes(backend):
                open_index(session, backend, index)
                continue  # read the rows again: a rebuild of a foreign index applied (and removed) them
            doc_ids = sorted({int(r.doc_id) for r in rows if r.doc_id.isdigit()})
            docs = builder.documents(doc_ids)
            kept = {doc["id"] for doc in docs}
            gone = [str(i) for i in doc_ids if str(i) not in kept] + [r.doc_id for r in rows
                                                                      if not r.doc_id.isdigit()]
            if docs:
                backend.index(name, docs)
            if gone:
                backend.delete(name, gone)
        except SearchError as exc:
            message = f"{type(exc).__name__}: {exc}"[:500]
            for row in rows:
                row.attempts += 1
                row.last_error = message
            session.flush()
            result.error = message
            break
        session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows])))
        forget_queued(session)
        session.flush()
        result.applied += len(rows)
    if result.applied:
        try:
            backend.refresh(name)
        except SearchError as exc:
            result.error = result.error or str(exc)
    result.remaining = pending(session, name)
    if index.on_caught_up and result.applied and not result.error and not result.remaining:
        index.on_caught_up(session, backend, now)
    return result


def reindex(session: Session, backend: SearchBackend, index: OutboxIndex, now: datetime | None = None) -> int:
    """Rebuild the index from the database; its outbox rows queued before the rebuild started are then obsolete."""
    now = now or utcnow()
    high = session.scalar(select(func.max(SearchOutbox.id)).where(SearchOutbox.index_name == index.name))
    stamp = stamp_for(session, index)
    written = backend.rebuild(index.schema, index.builder(session, now).all_documents(), stamp=stamp)
    ready_indexes(backend).add(index.name)
    if high is not None:
        session.execute(delete(SearchOutbox).where(SearchOutbox.index_name == index.name, SearchOutbox.id <= high))
        forget_queued(session)
        session.flush()
    if index.on_caught_up:
        index.on_caught_up(session, backend, now)
    return written


def quick_drain(index: OutboxIndex, limit: int = 200) -> DrainResult | None:
    """After a web write: try to bring the index up to date; never raises (the outbox keeps what is left)."""
    from market.db import db

    try:
        result = drain(db.session, get_backend(), index, limit=limit)
        db.session.commit()
        return result
    except Exception:  # noqa: BLE001 - a search problem never fails the request
        log.warning("%s quick drain failed; the outbox keeps the changes", index.name, exc_info=True)
        db.session.rollback()
        return None


def sync_message(subject: str, result: DrainResult) -> str:
    """One line for a command's output: `<subject> updated: …` or `<subject> not updated (…); … wait …`."""
    if result.error:
        return f"{subject} not updated ({result.error}); {result.remaining} changes wait in the outbox."
    return f"{subject} updated: {result.applied} changes applied, {result.remaining} waiting."
