"""The search outbox: one mechanism that keeps every search index (patents, needs, …) in step with the database.

The database is the source of truth. Services queue `search_outbox` rows (`market.ip.models.SearchOutbox`, one per
change, tagged with the index name) in the same transaction as the change. `drain` applies the rows of one index in
id order, reloading each document from the database, and deletes the rows only after the engine took them; an
engine that is down keeps them (counting the attempt), so it never loses a write. `reindex` rebuilds an index from the
database (an alias swap on Elasticsearch) and then drops the rows queued before the rebuild started (the high-water
mark): rows queued during the rebuild stay and are applied by the next drain.

What differs between indexes is only the documents: an `OutboxIndex` names the schema and a `DocumentBuilder`
factory. An area with an index declares it as `OUTBOX_INDEX` in `market/<area>/indexing.py`; `all_indexes()` finds
them in area order, so `market search sync` and `market search reindex` cover every index.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from market.ip.models import OutboxOp, SearchOutbox
from search import Schema, SearchBackend, SearchError, make_backend

log = logging.getLogger(__name__)
_lock = threading.Lock()


class DocumentBuilder(Protocol):
    """Builds the documents of one index for one drain or rebuild (it may cache lookups for that run)."""

    def documents(self, ids: Sequence[int]) -> list[dict]:
        """The documents of those ids (ascending) that belong in the index now; an id left out is deleted from it."""
        ...

    def all_documents(self) -> Iterator[dict]:
        """Every document the index should hold, read from the database in batches."""
        ...


@dataclass(frozen=True)
class OutboxIndex:
    """One search index fed by the outbox."""

    schema: Schema
    builder: Callable[[Session, datetime], DocumentBuilder]
    label: str  # for command output, e.g. "Patent index"
    # Called after a drain that applied rows and left none, and after a rebuild (e.g. saved-search alerts).
    on_caught_up: Callable[[Session, SearchBackend, datetime], object] | None = None

    @property
    def name(self) -> str:
        return self.schema.name


@dataclass
class DrainResult:
    applied: int = 0  # outbox rows applied and deleted
    remaining: int = 0
    error: str | None = None


# --------------------------------------------------------------------------------------------- app backend


def init_app(app: Flask) -> None:
    app.extensions.setdefault("search", None)


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The app's one backend for every index (created on first use; no I/O before). Elasticsearch when configured."""
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


def ensure_ready(backend: SearchBackend, schema: Schema) -> None:
    """Create the index when missing (once per backend object and index; raises SearchUnavailable when down)."""
    if schema.name in _ready(backend):
        return
    backend.ensure_index(schema)
    _ready(backend).add(schema.name)


def _ready(backend: SearchBackend) -> set[str]:
    """Names of the indexes this backend object has created or found."""
    ready = getattr(backend, "_outbox_ready", None)
    if ready is None:
        ready = set()
        backend._outbox_ready = ready  # type: ignore[attr-defined]
    return ready


# ------------------------------------------------------------------------------- reading rows for documents


def load_by_id(session: Session, model, ids: Iterable[int], *options) -> dict[int, Any]:
    """The rows of `model` among `ids` (with loader `options`), by id; ids without a row are left out."""
    ids = list(ids)
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)).options(*options))}


def each_by_id(session: Session, model, *options, where=(), batch_size: int = 500) -> Iterator[Any]:
    """Every row of `model` matching `where`, in id order, read in batches of `batch_size` (keyset, no OFFSET)."""
    last = 0
    while True:
        rows = session.scalars(select(model).where(model.id > last, *where).order_by(model.id).limit(batch_size)
                               .options(*options)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


# ------------------------------------------------------------------------------------------------ indexes


def all_indexes() -> list[OutboxIndex]:
    """Every index fed by the outbox: `OUTBOX_INDEX` of each area's `indexing` module, in area order."""
    from market.areas import all_areas

    found = []
    for area in all_areas():
        package = area.__name__.rpartition(".")[0]
        if importlib.util.find_spec(f"{package}.indexing") is None:
            continue
        index = getattr(importlib.import_module(f"{package}.indexing"), "OUTBOX_INDEX", None)
        if index is not None:
            found.append(index)
    return found


def enqueue(session: Session, index_name: str, doc_id: int | str, now: datetime,
            op: OutboxOp = OutboxOp.UPSERT) -> None:
    """Queue an index change of one document in the caller's transaction (committed or rolled back with it)."""
    session.add(SearchOutbox(index_name=index_name, doc_id=str(doc_id), op=op, created_at=now, attempts=0))


def pending(session: Session, index_name: str) -> int:
    return session.scalar(
        select(func.count()).select_from(SearchOutbox).where(SearchOutbox.index_name == index_name)
    ) or 0


def lag(session: Session, index_name: str, now: datetime | None = None) -> tuple[int, float | None]:
    """(outbox size of the index, age of its oldest row in seconds)."""
    from market.db import utcnow

    now = now or utcnow()
    count, oldest = session.execute(
        select(func.count(), func.min(SearchOutbox.created_at)).where(SearchOutbox.index_name == index_name)
    ).one()
    return count or 0, ((now - oldest).total_seconds() if oldest else None)


# ------------------------------------------------------------------------------------------------- drain


def drain(session: Session, backend: SearchBackend, index: OutboxIndex, limit: int = 10_000_000, *,
          now: datetime | None = None, batch_size: int = 500) -> DrainResult:
    """Apply up to `limit` outbox rows of the index in id order. Stops (keeping the rows) when the engine is
    unavailable. Only flushes; the caller commits (the deletions of applied rows and the attempt counters)."""
    from market.db import utcnow

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
        doc_ids = sorted({int(r.doc_id) for r in rows if r.doc_id.isdigit()})
        docs = builder.documents(doc_ids)
        kept = {doc["id"] for doc in docs}
        gone = [str(i) for i in doc_ids if str(i) not in kept] + [r.doc_id for r in rows if not r.doc_id.isdigit()]
        try:
            ensure_ready(backend, index.schema)
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
    from market.db import utcnow

    now = now or utcnow()
    high = session.scalar(select(func.max(SearchOutbox.id)).where(SearchOutbox.index_name == index.name))
    written = backend.rebuild(index.schema, index.builder(session, now).all_documents())
    _ready(backend).add(index.name)
    if high is not None:
        session.execute(delete(SearchOutbox).where(SearchOutbox.index_name == index.name, SearchOutbox.id <= high))
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
