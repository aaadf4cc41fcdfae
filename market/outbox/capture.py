"""Change capture: one SQLAlchemy session hook (`after_flush`, and `do_orm_execute` for bulk UPDATE/DELETE
statements) queues a `search_outbox` row for every document whose inputs a change touched, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, event, insert, select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.outbox.indexes import Watch, all_indexes, model_for
from market.outbox.models import OutboxOp, SearchOutbox

_SEEN = "search_outbox_seen"  # session.info: (index, doc id) already queued in the current transaction


def _watches() -> dict[str, list[tuple[str, Watch]]]:
    """table name → [(index name, watch)] over every index."""
    found = getattr(_watches, "cache", None)
    if found is None:
        found = {}
        for index in all_indexes():
            for watch in index.watches:
                model = model_for(watch.table)
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



def forget_queued(session: Session) -> None:
    """Applied or dropped rows are gone: a later change in this transaction needs a row again."""
    session.info.pop(_SEEN, None)
