"""The default backend: SQLite FTS5 in its own file, no server needed.

Text is pre-analysed by :mod:`search.analysis` and stored space-separated in an FTS5 table whose ``ascii``
tokenizer splits on spaces only for our tokens (they hold letters and digits only; non-ASCII characters are
token characters to it), ranked by FTS5's ``bm25()`` with the field boosts as column weights. Keyword values
live in a (field, value, rid) table; numbers and dates in indexed columns, so filters and facets are plain SQL.
One connection guarded by a lock serves all threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .analysis import analyzed, tokens, unique
from .base import (
    Schema,
    SearchBackend,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    UnknownIndex,
    keyword_value,
    range_bounds,
)
from .highlight import highlights_for

__all__ = ["EmbeddedBackend"]


def _match_expression(query_tokens: list[str]) -> str:
    """An FTS5 query requiring every token (each quoted, so no token is read as an operator)."""
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in query_tokens)


class EmbeddedBackend(SearchBackend):
    """Search indexes in one SQLite file (``":memory:"`` for tests)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._schemas: dict[str, Schema] = {}
        if path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=10, isolation_level=None)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS search_meta (name TEXT PRIMARY KEY, schema TEXT NOT NULL)")

    # -- plumbing ---------------------------------------------------------------------------------------

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """Hold the lock (and a transaction when writing); map a locked database to SearchUnavailable."""
        with self._lock:
            try:
                if write:
                    self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    if write:
                        self._conn.execute("ROLLBACK")
                    raise
                if write:
                    self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise SearchUnavailable(str(exc)) from exc
                raise

    def _schema(self, name: str) -> Schema:
        """The schema of an index, from memory or from the file's metadata (another process created it)."""
        schema = self._schemas.get(name)
        if schema is None:
            with self._lock:
                row = self._conn.execute("SELECT schema FROM search_meta WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UnknownIndex(name)
            schema = self._schemas[name] = Schema.from_fingerprint(row[0])
        return schema

    @staticmethod
    def _tables(name: str) -> tuple[str, str, str]:
        return f"s_{name}_doc", f"s_{name}_fts", f"s_{name}_kw"

    def _create(self, conn: sqlite3.Connection, schema: Schema) -> None:
        doc, fts, kw = self._tables(schema.name)
        cols = [f"n_{f} REAL" for f in schema.numeric_fields] + [f"d_{f} TEXT" for f in schema.date_fields]
        conn.execute(
            f"CREATE TABLE {doc} (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, raw TEXT NOT NULL"
            + "".join(f", {c}" for c in cols)
            + ")"
        )
        for f in schema.numeric_fields:
            conn.execute(f"CREATE INDEX {doc}_n_{f} ON {doc} (n_{f})")
        for f in schema.date_fields:
            conn.execute(f"CREATE INDEX {doc}_d_{f} ON {doc} (d_{f})")
        conn.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(schema.text_fields)}, tokenize='ascii')")
        conn.execute(
            f"CREATE TABLE {kw} (field TEXT NOT NULL, value TEXT NOT NULL, rid INTEGER NOT NULL,"
            " PRIMARY KEY (field, value, rid)) WITHOUT ROWID"
        )
        conn.execute(f"CREATE INDEX {kw}_rid ON {kw} (rid)")
        conn.execute(
            "INSERT OR REPLACE INTO search_meta (name, schema) VALUES (?, ?)", (schema.name, schema.fingerprint())
        )

    def _drop_tables(self, conn: sqlite3.Connection, name: str) -> None:
        for table in self._tables(name):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute("DELETE FROM search_meta WHERE name = ?", (name,))

    def _write(self, conn: sqlite3.Connection, schema: Schema, docs: Iterable[Mapping[str, Any]]) -> int:
        doc_t, fts, kw = self._tables(schema.name)
        nums, dates = schema.numeric_fields, schema.date_fields
        cols = ["id", "raw", *(f"n_{f}" for f in nums), *(f"d_{f}" for f in dates)]
        insert_doc = f"INSERT INTO {doc_t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        text_cols = ", ".join(schema.text_fields)
        insert_fts = f"INSERT INTO {fts} (rowid, {text_cols}) VALUES (?{', ?' * len(schema.text_fields)})"
        written = 0
        for raw_doc in docs:
            doc = schema.normalise(raw_doc)
            self._remove(conn, schema, [doc["id"]])
            raw = json.dumps({f: doc[f] for f in schema.text_fields}, ensure_ascii=False)
            rid = conn.execute(
                insert_doc, [doc["id"], raw, *(doc[f] for f in nums), *(doc[f] for f in dates)]
            ).lastrowid
            conn.execute(insert_fts, [rid, *(analyzed(doc[f]) for f in schema.text_fields)])
            conn.executemany(
                f"INSERT INTO {kw} (field, value, rid) VALUES (?, ?, ?)",
                [(f, v, rid) for f in schema.keyword_fields for v in doc[f]],
            )
            written += 1
        return written

    def _remove(self, conn: sqlite3.Connection, schema: Schema, ids: list[str]) -> None:
        doc_t, fts, kw = self._tables(schema.name)
        for doc_id in ids:
            row = conn.execute(f"SELECT rid FROM {doc_t} WHERE id = ?", (doc_id,)).fetchone()
            if row is not None:
                conn.execute(f"DELETE FROM {fts} WHERE rowid = ?", row)
                conn.execute(f"DELETE FROM {kw} WHERE rid = ?", row)
                conn.execute(f"DELETE FROM {doc_t} WHERE rid = ?", row)

    # -- interface --------------------------------------------------------------------------------------

    def ensure_index(self, schema: Schema) -> bool:
        with self._tx(write=True) as conn:
            row = conn.execute("SELECT schema FROM search_meta WHERE name = ?", (schema.name,)).fetchone()
            if row is not None and row[0] == schema.fingerprint():
                self._schemas[schema.name] = schema
                return False
            self._drop_tables(conn, schema.name)
            self._create(conn, schema)
        self._schemas[schema.name] = schema
        return True

    def index(self, schema_name: str, docs: Iterable[Mapping[str, Any]]) -> int:
        schema = self._schema(schema_name)
        with self._tx(write=True) as conn:
            return self._write(conn, schema, docs)

    def delete(self, schema_name: str, ids: Iterable[str]) -> None:
        schema = self._schema(schema_name)
        with self._tx(write=True) as conn:
            self._remove(conn, schema, [str(i) for i in ids])

    def rebuild(self, schema: Schema, docs: Iterable[Mapping[str, Any]], batch_size: int = 500) -> int:
        """Replace the index content in one transaction: readers see the old content until it commits."""
        self.ensure_index(schema)
        with self._tx(write=True) as conn:
            for table in self._tables(schema.name):
                conn.execute(f"DELETE FROM {table}")
            return self._write(conn, schema, docs)

    def refresh(self, schema_name: str) -> None:
        self._schema(schema_name)

    def clear(self, schema_name: str) -> None:
        self._schema(schema_name)
        with self._tx(write=True) as conn:
            for table in self._tables(schema_name):
                conn.execute(f"DELETE FROM {table}")

    def drop(self, schema_name: str) -> None:
        with self._tx(write=True) as conn:
            self._drop_tables(conn, schema_name)
        self._schemas.pop(schema_name, None)

    def count(self, schema_name: str) -> int:
        doc_t = self._tables(self._schema(schema_name).name)[0]
        with self._tx() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {doc_t}").fetchone()[0]

    def health(self) -> dict[str, Any]:
        try:
            with self._tx() as conn:
                conn.execute("SELECT 1").fetchone()
            return {"ok": True, "backend": "embedded", "path": self.path}
        except (sqlite3.Error, SearchUnavailable) as exc:
            return {"ok": False, "backend": "embedded", "path": self.path, "error": str(exc)}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- search -----------------------------------------------------------------------------------------

    def _where(
        self, schema: Schema, query: SearchQuery, match: str | None, skip: str | None = None
    ) -> tuple[list[str], list[Any]]:
        """SQL conditions on ``d`` (the doc table) for the text match, ranges and filters but ``skip``."""
        doc_t, fts, kw = self._tables(schema.name)
        where: list[str] = []
        params: list[Any] = []
        if match is not None:
            where.append(f"d.rid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)")
            params.append(match)
        for name, bounds in query.ranges.items():
            col = f"d.n_{name}" if name in schema.numeric_fields else f"d.d_{name}"
            lo, hi = range_bounds(schema, name, bounds)
            if lo is not None:
                where.append(f"{col} >= ?")
                params.append(lo)
            if hi is not None:
                where.append(f"{col} <= ?")
                params.append(hi)
        for name, values in query.filters.items():
            if name == skip or not values:
                continue
            marks = ", ".join("?" * len(values))
            where.append(f"d.rid IN (SELECT rid FROM {kw} WHERE field = ? AND value IN ({marks}))")
            params += [name, *(keyword_value(v) for v in values)]
        return where, params

    def search(self, schema_name: str, query: SearchQuery) -> SearchResult:
        schema = self._schema(schema_name)
        query.check(schema)
        doc_t, fts, kw = self._tables(schema.name)
        query_tokens = unique(tokens(query.q))
        match = _match_expression(query_tokens) if query_tokens else None
        where, params = self._where(schema, query, match)
        cond = " AND ".join(where) or "1"
        sort = query.sort_field()
        with self._tx() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM {doc_t} d WHERE {cond}", params).fetchone()[0]
            if sort is not None:
                col = f"d.n_{sort[0]}" if sort[0] in schema.numeric_fields else f"d.d_{sort[0]}"
                sql = (
                    f"SELECT d.id, d.raw FROM {doc_t} d WHERE {cond} "
                    f"ORDER BY ({col} IS NULL), {col} {'DESC' if sort[1] else 'ASC'}, d.id"
                )
            elif match is not None:
                weights = ", ".join(str(float(b)) for b in schema.text_fields.values())
                sql = (
                    f"SELECT d.id, d.raw FROM {fts} JOIN {doc_t} d ON d.rid = {fts}.rowid "
                    f"WHERE {fts} MATCH ? AND {cond} ORDER BY bm25({fts}, {weights}), d.id"
                )
                params = [match, *params]
            else:
                sql = f"SELECT d.id, d.raw FROM {doc_t} d WHERE {cond} ORDER BY d.id"
            rows = conn.execute(f"{sql} LIMIT ? OFFSET ?", [*params, query.per_page, query.offset]).fetchall()
            facets = {name: self._facet(conn, schema, query, match, name) for name in query.facets}
        stored = {doc_id: json.loads(raw) for doc_id, raw in rows}
        return SearchResult(
            total=total,
            ids=[doc_id for doc_id, _ in rows],
            facets=facets,
            highlights=highlights_for(stored, query.highlight_fields, query_tokens, query.fragment_size),
        )

    def _facet(
        self, conn: sqlite3.Connection, schema: Schema, query: SearchQuery, match: str | None, name: str
    ) -> list[tuple[str, int]]:
        doc_t, _, kw = self._tables(schema.name)
        where, params = self._where(schema, query, match, skip=name)
        cond = " AND ".join(where) or "1"
        rows = conn.execute(
            f"SELECT k.value, COUNT(*) AS c FROM {kw} k WHERE k.field = ? AND k.rid IN "
            f"(SELECT d.rid FROM {doc_t} d WHERE {cond}) GROUP BY k.value ORDER BY c DESC, k.value LIMIT ?",
            [name, *params, query.facet_size],
        ).fetchall()
        return [(value, count) for value, count in rows]
