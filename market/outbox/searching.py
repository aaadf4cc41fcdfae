"""Searching an app index: never an id the database lacks, waiting changes applied first on request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.outbox.indexes import OutboxIndex, model_for
from market.outbox.models import SearchOutbox
from market.outbox.sync import drain, open_index
from search import SearchBackend, SearchQuery, SearchResult

log = logging.getLogger(__name__)
_lock = threading.RLock()


def missing_ids(session: Session, index: OutboxIndex, ids: Sequence[str]) -> list[str]:
    """The ids among `ids` that the index should not hold now: no row in the database, or not visible."""
    numbers = [int(i) for i in ids if i.isdigit()]
    model = model_for(index.table)
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
