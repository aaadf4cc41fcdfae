"""The default backend: SQLite FTS5 in its own file, no server needed.

Text is pre-analysed by :mod:`search.analysis` and stored space-separated in an FTS5 table whose ``ascii``
tokenizer splits on spaces only for our tokens (they hold letters and digits only; non-ASCII characters are
token characters to it), ranked by FTS5's ``bm25()`` with the field boosts as column weights. Keyword values
live in a (field, value, rid) table; numbers and dates in indexed columns, so filters and facets are plain SQL.
One connection guarded by a lock serves all threads.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain, groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from .analysis import analyzed
from .base import (
    ParsedQuery,
    Schema,
    SearchBackend,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    Unit,
    UnknownIndex,
    batched,
    keyword_value,
    parse_query,
    range_bounds,
    range_buckets,
)
from .highlight import highlights_for

__all__ = ["EmbeddedBackend"]


def _match_expression(query_tokens: list[str]) -> str:
    """An FTS5 query requiring every token (each quoted, so no token is read as an operator)."""
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in query_tokens)


def _unit_expression(unit: Unit) -> str:
    """A phrase as an FTS5 phrase (its tokens side by side in one column), a word as all its tokens."""
    if unit.phrase:
        return '"' + " ".join(t.replace('"', '""') for t in unit.tokens) + '"'
    return f"({_match_expression(list(unit.tokens))})"


def _query_expressions(parsed: ParsedQuery) -> tuple[str | None, str | None]:
    """``(match, exclude)``: the FTS5 expression of the query, and, for a query of exclusions only, the expression
    of what to exclude from every document (FTS5 has no unary NOT)."""
    positive = " AND ".join("(" + " OR ".join(map(_unit_expression, group)) + ")" for group in parsed.must)
    negative = " OR ".join(map(_unit_expression, parsed.must_not))
    if positive and negative:
        return f"({positive}) NOT ({negative})", None
    return positive or None, negative or None


class EmbeddedBackend(SearchBackend):
    """Search indexes in one SQLite file (``":memory:"`` for tests)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._schemas: dict[str, Schema] = {}
        self._bitsets: dict[str, _Bitsets] = {}
        self._writes = 0  # commits through this connection (PRAGMA data_version only sees other connections')
        # changes of the current write transaction, applied to the facet bitsets when it commits:
        # (index name, rid, [(field, value)], added?); None for the index name = drop every cache
        self._deltas: list[tuple[str | None, int, list[tuple[str, str]], bool]] = []
        if path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=10, isolation_level=None)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS search_meta (name TEXT PRIMARY KEY, schema TEXT NOT NULL,"
                           " stamp TEXT)")
        if "stamp" not in {row[1] for row in self._conn.execute("PRAGMA table_info(search_meta)")}:
            self._conn.execute("ALTER TABLE search_meta ADD COLUMN stamp TEXT")  # a file written before stamps

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
                        self._deltas.clear()
                    raise
                if write:
                    self._conn.execute("COMMIT")
                    self._committed()
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
        self._bitsets.pop(name, None)
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
            pairs = [(f, v) for f in schema.keyword_fields for v in doc[f]]
            conn.executemany(f"INSERT INTO {kw} (field, value, rid) VALUES (?, ?, ?)", [(*p, rid) for p in pairs])
            if schema.name in self._bitsets:
                self._deltas.append((schema.name, rid, pairs, True))
            written += 1
        return written

    def _remove(self, conn: sqlite3.Connection, schema: Schema, ids: list[str]) -> None:
        doc_t, fts, kw = self._tables(schema.name)
        for doc_id in ids:
            row = conn.execute(f"SELECT rid FROM {doc_t} WHERE id = ?", (doc_id,)).fetchone()
            if row is not None:
                if schema.name in self._bitsets:
                    pairs = conn.execute(f"SELECT field, value FROM {kw} WHERE rid = ?", row).fetchall()
                    self._deltas.append((schema.name, row[0], pairs, False))
                conn.execute(f"DELETE FROM {fts} WHERE rowid = ?", row)
                conn.execute(f"DELETE FROM {kw} WHERE rid = ?", row)
                conn.execute(f"DELETE FROM {doc_t} WHERE rid = ?", row)

    def _committed(self) -> None:
        """After a commit through this connection: bring the current facet bitsets up to date (or drop them)."""
        before = self._writes
        self._writes += 1
        data_version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        for name, cached in list(self._bitsets.items()):
            if cached.version == (data_version, before):
                cached.version = (data_version, self._writes)
                cached.ranges.clear()
            else:
                del self._bitsets[name]
        for name, rid, pairs, added in self._deltas:
            cached = self._bitsets.get(name)
            if cached is not None:
                cached.apply(rid, pairs, added)
        self._deltas.clear()

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

    def rebuild(self, schema: Schema, docs: Iterable[Mapping[str, Any]], batch_size: int = 500,
                stamp: Mapping[str, Any] | None = None) -> int:
        """Replace the index content and its stamp in one transaction: readers see the old ones until it commits."""
        self.ensure_index(schema)
        with self._tx(write=True) as conn:
            self._bitsets.pop(schema.name, None)
            for table in self._tables(schema.name):
                conn.execute(f"DELETE FROM {table}")
            written = self._write(conn, schema, docs)
            self._put_stamp(conn, schema.name, stamp)
            return written

    def stamp(self, schema_name: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            row = conn.execute("SELECT stamp FROM search_meta WHERE name = ?", (schema_name,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def set_stamp(self, schema_name: str, stamp: Mapping[str, Any] | None) -> None:
        self._schema(schema_name)
        with self._tx(write=True) as conn:
            self._put_stamp(conn, schema_name, stamp)

    @staticmethod
    def _put_stamp(conn: sqlite3.Connection, name: str, stamp: Mapping[str, Any] | None) -> None:
        value = None if stamp is None else json.dumps(dict(stamp), sort_keys=True, ensure_ascii=False)
        conn.execute("UPDATE search_meta SET stamp = ? WHERE name = ?", (value, name))

    def refresh(self, schema_name: str) -> None:
        self._schema(schema_name)

    def clear(self, schema_name: str) -> None:
        self._schema(schema_name)
        with self._tx(write=True) as conn:
            self._bitsets.pop(schema_name, None)
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

    def _range_sql(self, schema: Schema, query: SearchQuery, alias: str) -> tuple[list[str], list[Any]]:
        """SQL conditions on the doc table ``alias`` for the query's ranges."""
        where: list[str] = []
        params: list[Any] = []
        for name, bounds in query.ranges.items():
            col = f"{alias}.{self._col(schema, name)}"
            lo, hi = range_bounds(schema, name, bounds)
            if lo is not None:
                where.append(f"{col} >= ?")
                params.append(lo)
            if hi is not None:
                where.append(f"{col} <= ?")
                params.append(hi)
        return where, params

    @staticmethod
    def _col(schema: Schema, name: str) -> str:
        return f"n_{name}" if name in schema.numeric_fields else f"d_{name}"

    def _bucket_sql(self, schema: Schema, query: SearchQuery, name: str, alias: str) -> list[tuple[str, str, list]]:
        """``(key, SQL condition on alias, params)`` for each bucket of range facet ``name``."""
        col = f"{alias}.{self._col(schema, query.range_facets[name][0])}"
        out = []
        for key, lo, hi in range_buckets(schema, query, name):
            conds, params = [f"{col} IS NOT NULL"], []
            if lo is not None:
                conds.append(f"{col} >= ?")
                params.append(lo)
            if hi is not None:
                conds.append(f"{col} <= ?")
                params.append(hi)
            out.append((key, " AND ".join(conds), params))
        return out

    def _filter_sql(self, schema: Schema, query: SearchQuery, name: str, rid: str) -> tuple[str, list[Any]]:
        """One filter as a condition on the rid expression ``rid`` (a keyword field or a range facet)."""
        doc_t, _fts, kw = self._tables(schema.name)
        values = [keyword_value(v) for v in query.filters[name]]
        if name in query.range_facets:
            chosen = [(c, p) for key, c, p in self._bucket_sql(schema, query, name, "f") if key in values]
            if not chosen:
                return "0", []
            cond = " OR ".join(f"({c})" for c, _p in chosen)
            return f"{rid} IN (SELECT f.rid FROM {doc_t} f WHERE {cond})", [x for _c, p in chosen for x in p]
        marks = ", ".join("?" * len(values))
        return f"{rid} IN (SELECT rid FROM {kw} WHERE field = ? AND value IN ({marks}))", [name, *values]

    def search(self, schema_name: str, query: SearchQuery) -> SearchResult:
        """Materialise the matching rids once (temp tables), then count, rank and facet from them.

        ``_base`` holds the documents matching ``q`` and ``ranges`` (with their bm25 score when ranked by
        relevance), ``_hits`` those that also pass every filter. Facets join the keyword table to the hits
        through its ``(rid, field, value)`` index, so their cost follows the number of hits, not the index size.
        A facet whose own field is filtered counts over ``_base`` with the *other* filters (disjunctive facets).
        """
        schema = self._schema(schema_name)
        query.check(schema)
        doc_t, fts, kw = self._tables(schema.name)
        parsed = parse_query(query.q)
        query_tokens = parsed.tokens()
        if parsed.simple:
            match, exclude = (_match_expression(query_tokens) if query_tokens else None), None
        else:
            match, exclude = _query_expressions(parsed)
        sort = query.sort_field()
        scored = match is not None and sort is None
        active = [name for name, values in query.filters.items() if values]
        with self._tx() as conn:
            conn.execute("BEGIN")  # one read snapshot for every statement below
            try:
                return self._search(conn, schema, query, query_tokens, match, sort, scored, active, exclude)
            finally:
                conn.execute("COMMIT")

    def _search(self, conn, schema, query, query_tokens, match, sort, scored, active, exclude=None) -> SearchResult:
        doc_t, fts, kw = self._tables(schema.name)
        if scored and not active and not query.ranges:
            return self._ranked(conn, schema, query, query_tokens, match)
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _base (rid INTEGER PRIMARY KEY, score REAL)")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _hits (rid INTEGER PRIMARY KEY, score REAL)")
        conn.execute("DELETE FROM temp._base")
        conn.execute("DELETE FROM temp._hits")
        range_where, range_params = self._range_sql(schema, query, "d")
        if exclude is not None:  # exclusions only: every document but those
            range_where.append(f"d.rid NOT IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)")
            range_params.append(exclude)
        # 1. the base set: q and ranges
        if match is not None:
            score = f"bm25({fts}, {', '.join(str(float(b)) for b in schema.text_fields.values())})" if scored else "0"
            join = f" JOIN {doc_t} d ON d.rid = {fts}.rowid" if range_where else ""
            conn.execute(
                f"INSERT INTO temp._base (rid, score) SELECT {fts}.rowid, {score} FROM {fts}{join} "
                f"WHERE {fts} MATCH ?" + "".join(f" AND {c}" for c in range_where),
                [match, *range_params],
            )
            base = "temp._base"
        elif range_where:
            conn.execute(
                f"INSERT INTO temp._base (rid, score) SELECT d.rid, 0 FROM {doc_t} d WHERE "
                + " AND ".join(range_where),
                range_params,
            )
            base = "temp._base"
        else:
            base = None  # every document
        base_src = base or doc_t
        # 2. the hits: base and every filter
        conds = {name: self._filter_sql(schema, query, name, "b.rid") for name in active}
        if active:
            where = " AND ".join(c for c, _p in conds.values())
            score_col = "b.score" if base else "0"
            conn.execute(
                f"INSERT INTO temp._hits (rid, score) SELECT b.rid, {score_col} FROM {base_src} b WHERE {where}",
                [p for _c, ps in conds.values() for p in ps],
            )
            hits = "temp._hits"
        else:
            hits = base
        hits_src = hits or doc_t
        total = conn.execute(f"SELECT COUNT(*) FROM {hits_src}").fetchone()[0]
        # 3. the page
        if sort is not None:
            col = f"d.{self._col(schema, sort[0])}"
            order = f"({col} IS NULL), {col} {'DESC' if sort[1] else 'ASC'}, d.id"
        else:
            order = "h.score, d.id" if scored else "d.id"
        page = [query.per_page, query.offset]
        if hits is None:
            sql = f"SELECT d.id, d.raw FROM {doc_t} d ORDER BY {order}"
        elif scored:
            # Only rows scoring at least the page's last score (ties included) are joined and sorted by id.
            sql = (f"SELECT d.id, d.raw FROM {hits} h CROSS JOIN {doc_t} d ON d.rid = h.rid WHERE h.score <= "
                   f"IFNULL((SELECT score FROM {hits} ORDER BY score LIMIT 1 OFFSET ?), 9e999) ORDER BY {order}")
            page = [query.offset + query.per_page - 1, *page]
        else:
            sql = f"SELECT d.id, d.raw FROM {hits} h CROSS JOIN {doc_t} d ON d.rid = h.rid ORDER BY {order}"
        rows = conn.execute(f"{sql} LIMIT ? OFFSET ?", page).fetchall() if query.per_page else []
        # 4. facets: set algebra on the cached bitsets, starting from the matching documents
        facets: dict[str, list[tuple[str, int]]] = {}
        if query.facets or query.range_facets:
            facets = self._facets(conn, schema, query, base, active)
        stored = {doc_id: json.loads(raw) for doc_id, raw in rows}
        return SearchResult(
            total=total,
            ids=[doc_id for doc_id, _ in rows],
            facets=facets,
            highlights=highlights_for(stored, query.highlight_fields, query_tokens, query.fragment_size),
        )

    def _ranked(self, conn, schema: Schema, query: SearchQuery, query_tokens: list[str], match: str) -> SearchResult:
        """Text query ranked by relevance, no filter or range (the common case): one pass over the FTS matches.

        The matching rids and bm25 scores come back in one statement; the page is taken in Python (the rows
        scoring at least the page's last score, ties included, are then sorted by score and id), and the facets
        count from the same rid list, so nothing is written to a temp table.
        """
        doc_t, fts, _kw = self._tables(schema.name)
        weights = ", ".join(str(float(b)) for b in schema.text_fields.values())
        matches = conn.execute(f"SELECT rowid, bm25({fts}, {weights}) FROM {fts} WHERE {fts} MATCH ?",
                               [match]).fetchall()
        rows: list[tuple[str, str]] = []
        last = query.offset + query.per_page
        if query.per_page and len(matches) > query.offset:
            cutoff = heapq.nsmallest(last, (score for _rid, score in matches))[-1] if last < len(matches) else None
            wanted = {rid: score for rid, score in matches if cutoff is None or score <= cutoff}
            found = []
            for chunk in batched(list(wanted), 900):
                found += conn.execute(f"SELECT rid, id, raw FROM {doc_t} WHERE rid IN ({', '.join('?' * len(chunk))})",
                                      chunk).fetchall()
            found.sort(key=lambda r: (wanted[r[0]], r[1]))
            rows = [(doc_id, raw) for _rid, doc_id, raw in found[query.offset : last]]
        facets: dict[str, list[tuple[str, int]]] = {}
        if query.facets or query.range_facets:
            facets = self._facets(conn, schema, query, None, [], base_rids=[rid for rid, _s in matches])
        stored = {doc_id: json.loads(raw) for doc_id, raw in rows}
        return SearchResult(
            total=len(matches),
            ids=[doc_id for doc_id, _ in rows],
            facets=facets,
            highlights=highlights_for(stored, query.highlight_fields, query_tokens, query.fragment_size),
        )

    def _facets(self, conn: sqlite3.Connection, schema: Schema, query: SearchQuery, base: str | None,
                active: list[str], base_rids: list[int] | None = None) -> dict[str, list[tuple[str, int]]]:
        """Facet counts starting from the matching documents (``base``, then ``temp._hits`` when filtered).

        A facet over the hits counts the values of the hit documents from the in-memory forward index
        (rid → values; C-speed ``itemgetter`` + ``Counter``): its cost follows the number of hits. When the
        hits are most of the index, and for disjunctive scopes (a filtered field's own facet), it intersects
        bitsets instead (``(scope & value_bits).bit_count()`` per value).
        """
        bits = self._bits(conn, schema)
        if base_rids is not None:  # the base set given as rids (no filter): the hits
            hit_rids: list[int] | None = base_rids
        else:
            hits_table = "temp._hits" if active else base
            hit_rids = None if hits_table is None else [r for (r,) in conn.execute(f"SELECT rid FROM {hits_table}")]
        memo: dict[str, int] = {}

        def base_bits() -> int:
            if "base" not in memo:
                if base_rids is not None:
                    memo["base"] = bits.of_rids(base_rids)
                else:
                    memo["base"] = bits.all if base is None else bits.of_rids(
                        r for (r,) in conn.execute(f"SELECT rid FROM {base}"))
            return memo["base"]

        if hit_rids is not None and len(hit_rids) > bits.count // 3:
            hit_rids = None  # most of the index: bitsets are cheaper

        chosen = {name: self._filter_bits(conn, schema, query, bits, name) for name in active}

        def scope_of(name: str | None) -> int:
            """Bitset of the base and every filter except ``name``'s own."""
            key = f"scope:{name}"
            if key not in memo:
                scope = base_bits()
                for other, mask in chosen.items():
                    if other != name:
                        scope &= mask
                memo[key] = scope
            return memo[key]

        facets: dict[str, list[tuple[str, int]]] = {}
        for name in query.range_facets:
            scope = scope_of(name if name in chosen else None)
            field_name = query.range_facets[name][0]
            counts = [(key, (scope & self._range_bits(conn, schema, bits, field_name, lo, hi)).bit_count())
                      for key, lo, hi in range_buckets(schema, query, name)]
            facets[name] = [(key, n) for key, n in counts if n]
        for name in query.facets:
            table = bits.values.get(name, {})
            if name not in chosen and hit_rids is not None:
                forward = bits.forward.get(name)
                if not hit_rids or forward is None:
                    counts: Iterable[tuple[str, int]] = ()
                elif len(hit_rids) == 1:
                    counts = Counter(forward[hit_rids[0]]).items()
                else:
                    counts = Counter(chain.from_iterable(itemgetter(*hit_rids)(forward))).items()
            else:
                scope = scope_of(name if name in chosen else None)
                counts = [(v, (scope & b).bit_count()) for v, b in table.items()]
            facets[name] = sorted(((v, n) for v, n in counts if n), key=lambda vc: (-vc[1], vc[0]))[
                : query.facet_size
            ]
        return facets

    # -- facet bitsets ------------------------------------------------------------------------------------

    def _bits(self, conn: sqlite3.Connection, schema: Schema) -> _Bitsets:
        """The keyword bitsets of an index, reloaded when this or another connection changed the file."""
        version = (conn.execute("PRAGMA data_version").fetchone()[0], self._writes)
        cached = self._bitsets.get(schema.name)
        if cached is None or cached.version != version:
            doc_t, _fts, kw = self._tables(schema.name)
            cached = _Bitsets(version)
            all_rids = [r for (r,) in conn.execute(f"SELECT rid FROM {doc_t}")]
            cached.all = cached.of_rids(all_rids)
            cached.count = len(all_rids)
            size = max(all_rids, default=0) + 1
            rows = conn.execute(f"SELECT field, value, rid FROM {kw} ORDER BY field, value")
            for (field, value), group in groupby(rows, key=lambda row: (row[0], row[1])):
                rids = [row[2] for row in group]
                cached.values.setdefault(field, {})[value] = cached.of_rids(rids)
                forward = cached.forward.get(field)
                if forward is None:
                    forward = cached.forward[field] = [()] * size
                for rid in rids:
                    forward[rid] = (*forward[rid], value)
            self._bitsets[schema.name] = cached
        return cached

    def _range_bits(self, conn: sqlite3.Connection, schema: Schema, bits: _Bitsets, name: str, lo: Any,
                    hi: Any) -> int:
        """Documents whose ``name`` lies within the stored-form bounds (cached with the bitsets)."""
        key = (name, lo, hi)
        found = bits.ranges.get(key)
        if found is None:
            doc_t = self._tables(schema.name)[0]
            col = self._col(schema, name)
            conds = [f"{col} IS NOT NULL", *([f"{col} >= ?"] if lo is not None else []),
                     *([f"{col} <= ?"] if hi is not None else [])]
            params = [v for v in (lo, hi) if v is not None]
            found = bits.of_rids(
                r for (r,) in conn.execute(f"SELECT rid FROM {doc_t} WHERE {' AND '.join(conds)}", params)
            )
            if len(bits.ranges) > 256:
                bits.ranges.clear()
            bits.ranges[key] = found
        return found

    def _filter_bits(self, conn: sqlite3.Connection, schema: Schema, query: SearchQuery, bits: _Bitsets,
                     name: str) -> int:
        values = {keyword_value(v) for v in query.filters[name]}
        mask = 0
        if name in query.range_facets:
            field_name = query.range_facets[name][0]
            for key, lo, hi in range_buckets(schema, query, name):
                if key in values:
                    mask |= self._range_bits(conn, schema, bits, field_name, lo, hi)
            return mask
        table = bits.values.get(name, {})
        for value in values:
            mask |= table.get(value, 0)
        return mask


class _Bitsets:
    """Per index: for each keyword (field, value) the set of its documents' rids as one Python int (bit ``rid``).

    Facet counts are then ``(hits & bitset).bit_count()`` per value: a few microseconds each, whatever the number
    of hits. Rebuilt from the keyword table when the file changed (``PRAGMA data_version`` for other connections,
    a write counter for this one); about a second per 100,000 documents.
    """

    def __init__(self, version: tuple[int, int]) -> None:
        self.version = version
        self.all = 0
        self.values: dict[str, dict[str, int]] = {}
        self.ranges: dict[tuple[str, Any, Any], int] = {}
        self.forward: dict[str, list[tuple[str, ...]]] = {}  # field → [rid] → its values
        self.count = 0

    def apply(self, rid: int, pairs: list[tuple[str, str]], added: bool) -> None:
        """One document added (or removed) with its keyword (field, value) pairs."""
        bit = 1 << rid
        if added:
            self.all |= bit
            self.count += 1
        else:
            self.all &= ~bit
            self.count -= 1
        for field in self.forward:
            if rid < len(self.forward[field]):
                self.forward[field][rid] = ()
        for field, value in pairs:
            table = self.values.setdefault(field, {})
            if added:
                table[value] = table.get(value, 0) | bit
                forward = self.forward.setdefault(field, [])
                if rid >= len(forward):
                    forward.extend([()] * (rid + 1 - len(forward) + len(forward) // 2))
                forward[rid] = (*forward[rid], value)
            elif value in table:
                table[value] &= ~bit

    @staticmethod
    def of_rids(rids: Iterable[int]) -> int:
        buf = bytearray()
        for rid in rids:
            pos = rid >> 3
            if pos >= len(buf):
                buf.extend(bytes(pos - len(buf) + 1 + (len(buf) >> 1)))
            buf[pos] |= 1 << (rid & 7)
        return int.from_bytes(buf, "little")
