"""A small in-process cache of the rendered patent-search results (form, facets, hit table, pager).

What the fragment shows comes from the database (the hit rows, owner names) and from the search index (hits,
totals, facets, highlights), for given search parameters, language and day. It never holds anything of the user:
the save-search form (with its CSRF token), the user menu and the language switch are rendered on every request.

The key carries a *data stamp* that changes whenever what a request can read may have changed:

- SQLite: ``PRAGMA data_version`` of the request's own connection, read inside its read transaction (it changes
  when any other connection, of this process or another, committed), plus a per-connection counter of this
  connection's own writes (``data_version`` does not count those) and a token naming the connection.
- PostgreSQL: the transaction snapshot (``pg_current_snapshot()``: xmin, xmax, in-progress ids), which changes
  when any write transaction starts or ends, plus the same per-connection counter and token (the snapshot does
  not show this connection's own uncommitted writes).
- Any other database: no stamp, no caching.

Every change the page shows is a database write: a new or changed patent or a pledge change commits its row and
its search-outbox row together, and the index catches up in a drain that commits the outbox rows' deletion. So
the stamp changes with the change itself and again when the index has it. The stamp is read before any data the
fragment uses, so a fragment stored under a stamp holds data at least as new as the stamp. The only window where
a cached fragment lags the uncached page is inside one drain, between the engine accepting the documents and the
drain's commit (milliseconds). A reindex that writes nothing to the database rebuilds the same documents from
the same rows.

Writes elsewhere in the database (bids, log-ins) also change the stamp: the cache then misses and renders anew,
which costs the uncached page. Entries are kept least-recently-used, at most ``IP_SEARCH_PAGE_CACHE`` of them
(app config, default 256; 0 turns the cache off).
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

DEFAULT_SIZE = 256
_WRITES = "ip_page_writes"  # connection.info keys (the info dict lives as long as the DBAPI connection)
_DIRTY = "ip_page_dirty"
_TOKEN = "ip_page_token"
_tokens = itertools.count(1)
_READS = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "SHOW")


@event.listens_for(Engine, "after_cursor_execute")
def _count_writes(conn, cursor, statement, parameters, context, executemany):
    """Count this connection's writes (anything but a read or transaction control)."""
    if statement.lstrip()[:9].upper().startswith(_READS):
        return
    info = conn.info
    info[_WRITES] = info.get(_WRITES, 0) + 1
    info[_DIRTY] = True


def _rolled_back(conn, *args):
    """A rollback after writes returns the data to an earlier state under a new stamp (never an old one).

    An invalidated connection (the server went away) is skipped: its DBAPI connection is discarded, and the one
    that replaces it starts with a new token, so no stamp of it can come back."""
    if conn.invalidated:
        return
    info = conn.info
    if info.get(_DIRTY):
        info[_WRITES] = info.get(_WRITES, 0) + 1


def _committed(conn):
    if not conn.invalidated:
        conn.info[_DIRTY] = False


event.listen(Engine, "rollback", _rolled_back)
event.listen(Engine, "rollback_savepoint", _rolled_back)
event.listen(Engine, "commit", _committed)


def data_stamp(session: Session) -> tuple | None:
    """The stamp of what this session can read now (see the module docstring); None when unknown."""
    conn = session.connection()
    info = conn.info
    token = info.get(_TOKEN)
    if token is None:
        token = info[_TOKEN] = next(_tokens)
    name = conn.dialect.name
    if name == "sqlite":
        version = conn.exec_driver_sql("PRAGMA data_version").scalar()
    elif name == "postgresql":
        version = conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar()
    else:
        return None
    return (token, info.get(_WRITES, 0), version)


class PageCache:
    """A thread-safe LRU of rendered fragments."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def init_app(app) -> None:
    size = int(app.config.get("IP_SEARCH_PAGE_CACHE", DEFAULT_SIZE) or 0)
    app.extensions["ip_page_cache"] = PageCache(size) if size > 0 else None


def get_cache(app) -> PageCache | None:
    return app.extensions.get("ip_page_cache")
