"""The search outbox: one mechanism that keeps every search index (patents, needs, …) in step with the database.

The database is the source of truth. Each index declares what it reads (`Watch`: a table, its columns, and which
documents a changed row affects); one SQLAlchemy session hook (`after_flush`, and `do_orm_execute` for bulk
UPDATE/DELETE statements) queues a `search_outbox` row for every document whose inputs an insert, update or delete
touched, in the same transaction as the change. No writer calls an enqueue function.

`drain` applies the rows of one index in id order, reloading each document from the database, and deletes the rows
only after the engine took them; an engine that is down keeps them (counting the attempt), so it never loses a
write. `reindex` rebuilds an index from the database (an alias swap on Elasticsearch) and then drops the rows queued
before the rebuild started (the high-water mark): rows queued during the rebuild stay and are applied by the next
drain.

Every index carries an identity record (its stamp: the database's identity, `DatabaseIdentity`, and the index's
document version), written by `reindex` together with the content. `open_index` checks it the first time a backend
object uses an index: an index built from another database (or an older document shape) is rebuilt from this one.
`search` never answers with an id the database lacks: such ids are deleted from the index and the query runs again,
so `total` agrees with the items; changes still waiting in the outbox are applied first when the engine is up, and
whatever is left is reported as the lag.

What differs between indexes is only the documents: an `OutboxIndex` names the schema, the watches and a
`DocumentBuilder` factory. An area with an index declares it as `OUTBOX_INDEX` in `market/<area>/indexing.py`;
`all_indexes()` finds them in area order, so `market search sync` and `market search reindex` cover every index.
"""

from __future__ import annotations

import enum
import hashlib
import importlib
import importlib.util
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import Select, String, delete, event, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from market.db import Base, enum_type, utcnow
from search import Schema, SearchBackend, SearchError, SearchQuery, SearchResult, make_backend

log = logging.getLogger(__name__)
_lock = threading.RLock()


# ------------------------------------------------------------------------------------------------- models


class OutboxOp(enum.StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


class SearchOutbox(Base):
    """A pending change of a search index, written in the same transaction as the database change.

    `drain` applies rows in id order and deletes them only after the engine accepted them, so an engine that is
    down never loses a write. Every change adds a row (no upsert: a change committed while a drain runs keeps its
    own row, so the drain cannot delete it); a drain applies each document once per batch, as it is now in the DB.
    """

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    index_name: Mapped[str] = mapped_column(String(40), index=True)
    doc_id: Mapped[str] = mapped_column(String(40))
    op: Mapped[OutboxOp] = mapped_column(enum_type(OutboxOp), default=OutboxOp.UPSERT)
    created_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class DatabaseIdentity(Base):
    """One row naming this database (a random id made when its schema was first set up). Search indexes carry it,
    so an index built from another database, or from an earlier database at the same URL, is never used."""

    __tablename__ = "database_identity"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    identity: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]


def database_identity(session: Session) -> str:
    """This database's identity, created (in the caller's transaction) when missing."""
    found = session.scalar(select(DatabaseIdentity.identity).where(DatabaseIdentity.id == 1))
    if found is None:
        try:
            with session.begin_nested():
                session.add(DatabaseIdentity(id=1, identity=str(uuid.uuid4()), created_at=utcnow()))
        except IntegrityError:  # made meanwhile by another transaction
            pass
        found = session.scalar(select(DatabaseIdentity.identity).where(DatabaseIdentity.id == 1))
    return found


# ------------------------------------------------------------------------------------------------ indexes


class DocumentBuilder(Protocol):
    """Builds the documents of one index for one drain or rebuild (it may cache lookups for that run)."""

    def documents(self, ids: Sequence[int]) -> list[dict]:
        """The documents of those ids (ascending) that belong in the index now; an id left out is deleted from it."""
        ...

    def all_documents(self) -> Iterator[dict]:
        """Every document the index should hold, read from the database in batches."""
        ...


# The documents affected by changed rows of a watched table: ids, or a SELECT of one id column. `rows` are ORM
# objects (a flush) or result rows with the table's columns (a bulk UPDATE/DELETE), read as attributes.
Affected = Callable[[Session, list[Any]], "Iterable[int] | Select"]


def own_ids(session: Session, rows: list[Any]) -> list[int]:
    """The rows are the documents (an index's own table)."""
    return [row.id for row in rows]


@dataclass(frozen=True)
class Watch:
    """An index reads `columns` of `table` (all columns when empty); `affected` names the documents to update when
    a row of it is inserted, deleted, or has one of those columns changed."""

    table: str
    columns: tuple[str, ...] = ()
    affected: Affected = own_ids


@dataclass(frozen=True)
class OutboxIndex:
    """One search index fed by the outbox."""

    schema: Schema
    builder: Callable[[Session, datetime], DocumentBuilder]
    label: str  # for command output, e.g. "Patent index"
    # What the documents are made of; the session hook queues the affected documents of every change to these.
    watches: tuple[Watch, ...] = ()
    # The table whose ids are the document ids, and the condition a row needs to be in the index (for `search`).
    table: str = ""
    visible: Callable[[], Sequence[Any]] = field(default=lambda: ())
    version: int = 1  # bump when documents change shape without a schema change: existing indexes are rebuilt
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
    """Create the index when missing (once per backend object and index; raises SearchUnavailable when down).
    For an index without a database behind it; the app's indexes are opened with `open_index`."""
    if schema.name in _ready(backend):
        return
    backend.ensure_index(schema)
    _ready(backend).add(schema.name)


def _ready(backend: SearchBackend) -> set[str]:
    """Names of the indexes this backend object has created or found (and checked)."""
    ready = getattr(backend, "_outbox_ready", None)
    if ready is None:
        ready = set()
        backend._outbox_ready = ready  # type: ignore[attr-defined]
    return ready


def stamp_for(session: Session, index: OutboxIndex) -> dict[str, str]:
    """The identity record an index built from this database now carries: the database's identity and the
    version of the documents (the index's `version` and its schema)."""
    digest = hashlib.sha256(index.schema.fingerprint().encode()).hexdigest()[:12]
    return {"database": database_identity(session), "version": f"{index.version}:{digest}"}


def open_index(session: Session, backend: SearchBackend, index: OutboxIndex) -> None:
    """Create the index when missing and check its identity record, once per backend object and index.

    An index whose record names another database, another document version, or none (created empty, or written
    before records existed) is rebuilt from this database right away: search never answers from another
    database's index. Raises SearchUnavailable when the engine is down (checked again next time)."""
    if index.name in _ready(backend):
        return
    with _lock:
        if index.name in _ready(backend):
            return
        backend.ensure_index(index.schema)
        want = stamp_for(session, index)
        have = backend.stamp(index.name)
        if have != want:
            log.warning("%s was built from %s, this database is %s: rebuilding it from the database",
                        index.name, have or "an unknown source", want)
            reindex(session, backend, index)
        _ready(backend).add(index.name)


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
    now = now or utcnow()
    count, oldest = session.execute(
        select(func.count(), func.min(SearchOutbox.created_at)).where(SearchOutbox.index_name == index_name)
    ).one()
    return count or 0, ((now - oldest).total_seconds() if oldest else None)


# --------------------------------------------------------------------------------------- change capture

_SEEN = "search_outbox_seen"  # session.info: (index, doc id) already queued in the current transaction


def _watches() -> dict[str, list[tuple[str, Watch]]]:
    """table name → [(index name, watch)] over every index."""
    found = getattr(_watches, "cache", None)
    if found is None:
        found = {}
        for index in all_indexes():
            for watch in index.watches:
                model = _model(watch.table)
                unknown = [c for c in watch.columns if c not in model.__mapper__.column_attrs]
                if unknown:
                    raise LookupError(f"{index.name} watches unknown columns of {watch.table}: {unknown}")
                found.setdefault(watch.table, []).append((index.name, watch))
        _watches.cache = found  # type: ignore[attr-defined]
    return found


def _changed(obj: Any, columns: tuple[str, ...]) -> bool:
    """Whether the flush wrote one of `columns` (any column when empty) of a dirty object."""
    from sqlalchemy import inspect

    state = inspect(obj)
    names = columns or [attr.key for attr in state.mapper.column_attrs]
    return any(state.attrs[name].history.has_changes() for name in names)


def _queue(session: Session, found: dict[tuple[str, Watch], list[Any]]) -> None:
    """Insert one outbox row per affected document not yet queued in this transaction."""
    seen: set[tuple[str, str]] = session.info.setdefault(_SEEN, set())
    now = utcnow()
    rows = []
    for (name, watch), changed in found.items():
        affected = watch.affected(session, changed)
        if isinstance(affected, Select):
            affected = session.execute(affected).scalars().all()
        for doc_id in affected:
            key = (name, str(doc_id))
            if doc_id is not None and key not in seen:
                seen.add(key)
                rows.append({"index_name": name, "doc_id": key[1], "op": OutboxOp.UPSERT, "created_at": now,
                             "attempts": 0})
    if rows:
        session.connection().execute(insert(SearchOutbox.__table__), rows)


@event.listens_for(Session, "after_flush")
def _capture_flush(session: Session, flush_context) -> None:
    """Queue the documents affected by every insert, update and delete of this flush (the objects still show
    their pre-flush state and history here, and new rows have their ids)."""
    watches = _watches()
    if not watches:
        return
    found: dict[tuple[str, Watch], list[Any]] = {}
    for objects, dirty in ((session.new, False), (session.dirty, True), (session.deleted, False)):
        for obj in objects:
            for name, watch in watches.get(getattr(obj, "__tablename__", None), ()):
                if not dirty or _changed(obj, watch.columns):
                    found.setdefault((name, watch), []).append(obj)
    if found:
        _queue(session, found)


def _sets(statement: Any, columns: tuple[str, ...]) -> bool:
    """Whether an UPDATE statement may set one of `columns` (True when it cannot be told)."""
    values = getattr(statement, "_values", None)
    if not columns or not values:
        return True
    return any(getattr(key, "key", key) in columns for key in values)


@event.listens_for(Session, "do_orm_execute")
def _capture_bulk(state) -> Any:
    """Bulk UPDATE/DELETE statements bypass the flush: read the rows they target first, run the statement, then
    queue the affected documents (a row that ends up unchanged only costs a harmless re-index)."""
    if not (state.is_update or state.is_delete):
        return None
    table = getattr(getattr(state.statement, "table", None), "name", None)
    relevant = [(name, watch) for name, watch in _watches().get(table, ())
                if state.is_delete or _sets(state.statement, watch.columns)]
    if not relevant:
        return None
    mapper = state.bind_mapper
    target = select(*(mapper.local_table if mapper is not None else state.statement.table).columns)
    if state.statement.whereclause is not None:
        target = target.where(state.statement.whereclause)
    if state.session.autoflush:
        state.session.flush()  # as the statement itself would: read the rows with the session's pending changes
    rows = state.session.connection().execute(target).all()
    result = state.invoke_statement()
    if rows:
        _queue(state.session, {key: rows for key in relevant})
    return result


@event.listens_for(Session, "after_transaction_end")
def _forget_seen(session: Session, transaction) -> None:
    """A transaction ended: its rows are committed or gone. A savepoint released keeps them (in its parent)."""
    if transaction.parent is None:
        session.info.pop(_SEEN, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:
    """Any rollback (a savepoint's too) may have removed queued rows: queue again on the next change."""
    session.info.pop(_SEEN, None)


# ------------------------------------------------------------------------------------------------ search


def _model(table: str):
    for mapper in Base.registry.mappers:
        if mapper.local_table.name == table:
            return mapper.class_
    raise LookupError(table)


def missing_ids(session: Session, index: OutboxIndex, ids: Sequence[str]) -> list[str]:
    """The ids among `ids` that the index should not hold now: no row in the database, or not visible."""
    numbers = [int(i) for i in ids if i.isdigit()]
    model = _model(index.table)
    present = set(session.scalars(select(model.id).where(model.id.in_(numbers), *index.visible()))) \
        if numbers else set()
    return [i for i in ids if not i.isdigit() or int(i) not in present]


_catching_up: set[tuple[int, str]] = set()


def catch_up(session: Session, backend: SearchBackend, index: OutboxIndex, limit: int = 500) -> int:
    """Before a search: apply the index's waiting changes (up to `limit`, committing the session, which must hold
    nothing else), unless another thread of this process is at it. Returns the changes still waiting (the lag)."""
    waiting = session.scalar(select(func.count()).select_from(
        select(SearchOutbox.id).where(SearchOutbox.index_name == index.name).limit(limit + 1).subquery()))
    if not waiting:
        return 0
    key = (id(backend), index.name)
    with _lock:
        if key in _catching_up:
            return waiting
        _catching_up.add(key)
    try:
        result = drain(session, backend, index, limit)
        session.commit()
        return result.remaining
    except Exception:  # noqa: BLE001 - the search itself reports an engine that is down
        log.warning("%s: catching up before a search failed; the outbox keeps the changes", index.name,
                    exc_info=True)
        session.rollback()
        return waiting
    finally:
        with _lock:
            _catching_up.discard(key)


def search(session: Session, backend: SearchBackend, index: OutboxIndex, query: SearchQuery, *,
           catch_up_first: bool = False) -> tuple[SearchResult, int]:
    """Search an app index: `(result, lag)`. Opens (checks) the index; with `catch_up_first` applies waiting changes
    first (see `catch_up`); the lag is the number of changes still waiting.

    A hit the database lacks (deleted, or not visible any more while its change waits) is deleted from the index
    and the query runs again, so the page is never short and `total` counts only what the database has."""
    open_index(session, backend, index)
    lag = catch_up(session, backend, index) if catch_up_first else 0
    gone: list[str] = []
    for _attempt in range(3):
        result = backend.search(index.name, query)
        gone = missing_ids(session, index, result.ids)
        if not gone:
            break
        log.info("%s held %s ids the database lacks: deleted, searching again", index.name, len(gone))
        backend.delete(index.name, gone)
        backend.refresh(index.name)
    if gone:  # deleted again meanwhile: leave them out rather than show them
        result.ids = [i for i in result.ids if i not in set(gone)]
        result.total = max(0, result.total - len(gone))
    return result, lag


# ------------------------------------------------------------------------------------------------- drain


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
            if index.name not in _ready(backend):
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
        session.info.pop(_SEEN, None)  # a later change in this transaction needs a row again
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
    _ready(backend).add(index.name)
    if high is not None:
        session.execute(delete(SearchOutbox).where(SearchOutbox.index_name == index.name, SearchOutbox.id <= high))
        session.info.pop(_SEEN, None)
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
