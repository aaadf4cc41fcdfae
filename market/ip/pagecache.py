"""A small in-process cache of the rendered patent-search results (form, facets, hit table, pager).

What the fragment shows comes from the database (the hit rows, owner names) and from the search index (hits,
totals, facets, highlights), for given search parameters, language and day. It never holds anything of the user:
the save-search form (with its CSRF token), the user menu and the language switch are rendered on every request.

The key carries a *data stamp*: a version of the whole database that is the same whichever pooled connection (or
thread, or process) reads it, so identical requests hit whichever connection serves them:

- SQLite (WAL, as `market.db` opens every file database): the header of the WAL index (the ``-shm`` file, see
  https://www.sqlite.org/walformat.html): its change counter, last valid frame, frame checksum and salts change with
  every committed transaction of any connection and with nothing else but a checkpoint's WAL restart. The request's
  read transaction is restarted just before the header is read, so its snapshot (taken at its next statement) is at
  least as new as the stamp.
- PostgreSQL: the transaction snapshot (``pg_current_snapshot()``: xmin, xmax, in-progress ids), which changes when
  any write transaction starts or ends; every statement of a READ COMMITTED transaction sees at least that.
- A transaction that already wrote (its own changes are not in the stamp), a savepoint (an outer transaction may
  hold uncommitted writes), an in-memory SQLite database or any other database: no stamp, no caching.

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

import os

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from market.db import _sqlite_begin_statement
from search.cache import DEFAULT_SIZE
from search.cache import LRU as PageCache

__all__ = ["DEFAULT_SIZE", "PageCache", "data_stamp", "get_cache", "init_app"]

_DIRTY = "ip_page_dirty"  # connection.info: this transaction wrote
_READS = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "SHOW")
_HEADER = 48  # bytes of one copy of the WAL-index header; the -shm file starts with two copies


@event.listens_for(Engine, "after_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany):
    """Mark the transaction as written by anything but a read or transaction control."""
    if not statement.lstrip()[:9].upper().startswith(_READS):
        conn.info[_DIRTY] = True


@event.listens_for(Engine, "begin")
def _transaction_began(conn):
    conn.info[_DIRTY] = False


def data_stamp(session: Session) -> tuple | None:
    """The stamp of what this session can read from now on (see the module docstring); None when there is none."""
    conn = session.connection()
    if conn.info.get(_DIRTY, True) or conn.in_nested_transaction():
        return None
    name = conn.dialect.name
    if name == "sqlite":
        return _wal_stamp(conn)
    if name == "postgresql":
        return ("pg", conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar())
    return None


def _wal_stamp(conn: Connection) -> tuple | None:
    path = conn.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    # A new read snapshot, taken after the header is read (the transaction has read only: nothing is lost).
    conn.exec_driver_sql("COMMIT")
    conn.exec_driver_sql(_sqlite_begin_statement())
    for _attempt in range(3):
        try:
            fd = os.open(f"{path}-shm", os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            raw = os.pread(fd, 2 * _HEADER, 0)
        finally:
            os.close(fd)
        # Writers update the second copy, then the first: equal copies are one committed state (SQLite's own check)
        if len(raw) == 2 * _HEADER and raw[:_HEADER] == raw[_HEADER:] and raw[12]:
            return ("wal", raw[:_HEADER])
    return None


def init_app(app) -> None:
    size = int(app.config.get("IP_SEARCH_PAGE_CACHE", DEFAULT_SIZE) or 0)
    app.extensions["ip_page_cache"] = PageCache(size) if size > 0 else None


def get_cache(app) -> PageCache | None:
    return app.extensions.get("ip_page_cache")
