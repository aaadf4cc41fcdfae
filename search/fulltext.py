"""An embedded backend on tantivy (a Lucene-like library in Rust, PyPI ``tantivy``): top-k BM25, fast fields and
Elasticsearch-style aggregations in process, no server.

Text arrives pre-analysed by :mod:`search.analysis` and is indexed with tantivy's ``whitespace`` tokenizer (our
tokens hold letters and digits only), queried with one term query per token and field like the Elasticsearch
backend, so the tokens and BM25 sums match it. Keyword fields are ``raw`` fast text fields (facets are ``terms``
aggregations), numbers ``f64`` and dates ``i64`` milliseconds, both fast and indexed (ranges, sorts, range facets).
Ties are broken by ``id`` through a fast ``rid`` key (the id's first 8 bytes) and the stored id when two keys are
equal. The raw text is stored for highlighting in Python.

On disk (``path`` is a directory; ``":memory:"`` keeps everything in RAM) each index is a folder holding
generations: ``<name>/CURRENT`` names the live generation folder, which holds tantivy's files and ``market.json``
(the schema fingerprint and the identity stamp). A rebuild fills a new generation and then swaps ``CURRENT``
atomically, like the Elasticsearch alias. Several processes share one index: every process reads (a search checks
two ``stat`` results and reopens or reloads when another process committed), one writes at a time, serialised by
an ``flock`` on ``.<name>.lock`` (a writer that cannot get it within ``lock_timeout`` raises SearchUnavailable, so
the outbox keeps the change for later); tantivy's own writer lock stays as a second guard.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Document, FieldType, Index, Occur, Order, Query

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
    keyword_value,
    parse_query,
    range_bounds,
    range_buckets,
)
from .highlight import highlights_for

__all__ = ["TantivyBackend"]

_META = "market.json"
_SMALL_HEAP = 16_000_000  # one writer thread for the outbox's small batches
_BULK_HEAP = 128_000_000  # a rebuild: two threads of 64 MB
_TERMS_SIZE = 65_535
_EPOCH = datetime(1970, 1, 1)
_MILLI = timedelta(milliseconds=1)  # per-segment terms kept by an aggregation: exact counts across segments


def _rid(doc_id: str) -> int:
    """The id's first 8 bytes as a big-endian number: ordering these orders ids by byte order (equal keys: compare
    the ids themselves)."""
    return int.from_bytes(doc_id.encode()[:8].ljust(8, b"\0"), "big")


def _millis(iso: str) -> int:
    """A stored-form date (``date_value``: naive UTC ISO) as milliseconds since the epoch."""
    return (datetime.fromisoformat(iso) - _EPOCH) // _MILLI


def _tantivy_schema(schema: Schema) -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field("rid", fast=True)
    builder.add_bytes_field("raw", stored=True)
    for name in schema.text_fields:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    for name in schema.keyword_fields:
        builder.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    for name in schema.numeric_fields:
        builder.add_float_field(name, fast=True, indexed=True)
    for name in schema.date_fields:
        builder.add_integer_field(name, fast=True, indexed=True)
    return builder.build()


def _must(*clauses: Query) -> Query:
    return clauses[0] if len(clauses) == 1 else Query.boolean_query([(Occur.Must, c) for c in clauses])


def _either(clauses: list[Query]) -> Query:
    return clauses[0] if len(clauses) == 1 else Query.boolean_query([(Occur.Should, c) for c in clauses])


def _filter(query: Query) -> Query:
    """A clause that selects without adding to the score (x + 0.0 keeps every BM25 score bit for bit)."""
    return Query.const_score_query(query, 0.0)


class _Gen:
    """One generation of one index: the tantivy index, its schema and identity record, and what was last seen on
    disk (to notice another process's commit)."""

    def __init__(self, schema: Schema, index: Index, meta: dict[str, Any], folder: Path | None) -> None:
        self.schema = schema
        self.index = index
        self.meta = meta
        self.folder = folder
        self.tschema = index.schema
        self.seen = self._signature()
        self.lock = threading.Lock()

    def _signature(self) -> tuple[int, int, int] | None:
        if self.folder is None:
            return None
        st = os.stat(self.folder / "meta.json")
        return st.st_ino, st.st_mtime_ns, st.st_size

    def searcher(self) -> tantivy.Searcher:
        """A searcher over the latest commit (of any process)."""
        if self.folder is not None:
            now = self._signature()
            if now != self.seen:
                with self.lock:
                    self.index.reload()
                    self.seen = now
        return self.index.searcher()

    def committed(self) -> None:
        """After this process's own commit: make it visible at once."""
        with self.lock:
            self.index.reload()
            self.seen = self._signature()


class TantivyBackend(SearchBackend):
    """Search indexes in one folder (``":memory:"`` for tests), shared safely by several processes."""

    def __init__(self, path: str, lock_timeout: float = 10.0) -> None:
        self.path = path
        self.memory = path == ":memory:"
        self.root = None if self.memory else Path(path)
        self.lock_timeout = lock_timeout
        self._gens: dict[str, _Gen] = {}  # disk: the generation last opened per index; memory: the index itself
        self._pointers: dict[str, tuple[int, int, int]] = {}
        self._lock = threading.RLock()  # this process's writers, one at a time (then the file lock across processes)
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)

    # -- plumbing ---------------------------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        assert self.root is not None
        return self.root / name

    @contextmanager
    def _writing(self, name: str) -> Iterator[None]:
        """This process's write lock, then (on disk) the index's file lock, waiting at most ``lock_timeout``."""
        with self._lock:
            if self.root is None:
                yield
                return
            with open(self.root / f".{name}.lock", "a+b") as fh:
                deadline = time.monotonic() + self.lock_timeout
                while True:
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise SearchUnavailable(f"the search index {name!r} is locked by another writer") from None
                        time.sleep(0.02)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def _gen(self, name: str) -> _Gen | None:
        """The live generation of an index (reopened when another process swapped it), or None when missing."""
        if self.root is None:
            return self._gens.get(name)
        pointer = self._dir(name) / "CURRENT"
        try:
            st = os.stat(pointer)
        except FileNotFoundError:
            self._gens.pop(name, None)
            return None
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        gen = self._gens.get(name)
        if gen is None or self._pointers.get(name) != signature:
            with self._lock:
                for attempt in range(3):  # a generation removed by a writer between reading CURRENT and opening
                    try:
                        folder = self._dir(name) / pointer.read_text().strip()
                        meta = json.loads((folder / _META).read_text())
                        gen = _Gen(Schema.from_fingerprint(meta["schema"]), Index.open(str(folder)), meta, folder)
                        break
                    except (OSError, ValueError) as exc:
                        if attempt == 2:
                            raise SearchUnavailable(f"the search index {name!r} cannot be opened: {exc}") from exc
                        time.sleep(0.05)
                gen.index.config_reader("Manual", 0)
                self._gens[name], self._pointers[name] = gen, signature
        elif gen.folder is not None:
            meta_file = gen.folder / _META
            if (m := os.stat(meta_file).st_mtime_ns) != gen.meta.get("_mtime"):
                gen.meta = {**json.loads(meta_file.read_text()), "_mtime": m}
        return gen

    def _need(self, name: str) -> _Gen:
        gen = self._gen(name)
        if gen is None:
            raise UnknownIndex(name)
        return gen

    def _new_gen(self, schema: Schema, stamp: Mapping[str, Any] | None) -> _Gen:
        """A new, empty generation (not yet live)."""
        meta = {"schema": schema.fingerprint(), "stamp": None if stamp is None else dict(stamp)}
        if self.root is None:
            return _Gen(schema, Index(_tantivy_schema(schema)), meta, None)
        folder = self._dir(schema.name) / f"g-{uuid.uuid4().hex[:16]}"
        folder.mkdir(parents=True)
        index = Index(_tantivy_schema(schema), path=str(folder), reuse=False)
        index.config_reader("Manual", 0)
        self._write_meta(folder, meta)
        return _Gen(schema, index, meta, folder)

    @staticmethod
    def _write_meta(folder: Path, meta: Mapping[str, Any]) -> None:
        tmp = folder / f".{_META}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({k: v for k, v in meta.items() if not k.startswith("_")}, ensure_ascii=False))
        os.replace(tmp, folder / _META)

    def _publish(self, gen: _Gen) -> None:
        """Make ``gen`` the live generation; remove older ones but the previous (another process may be reading it)."""
        if self.root is None:
            self._gens[gen.schema.name] = gen
            return
        assert gen.folder is not None
        base = gen.folder.parent
        previous = (base / "CURRENT").read_text().strip() if (base / "CURRENT").exists() else None
        tmp = base / f".CURRENT.{os.getpid()}.tmp"
        tmp.write_text(gen.folder.name)
        os.replace(tmp, base / "CURRENT")
        for old in base.glob("g-*"):
            if old.name not in (gen.folder.name, previous):
                shutil.rmtree(old, ignore_errors=True)
        self._gens.pop(gen.schema.name, None)

    def _discard(self, gen: _Gen) -> None:
        if gen.folder is not None:
            shutil.rmtree(gen.folder, ignore_errors=True)

    def _document(self, schema: Schema, raw_doc: Mapping[str, Any]) -> Document:
        doc = schema.normalise(raw_doc)
        out = Document()
        out.add_text("id", doc["id"])
        out.add_unsigned("rid", _rid(doc["id"]))
        out.add_bytes("raw", json.dumps({f: doc[f] for f in schema.text_fields}, ensure_ascii=False).encode())
        for name in schema.text_fields:
            if text := analyzed(doc[name]):
                out.add_text(name, text)
        for name in schema.keyword_fields:
            for value in doc[name]:
                out.add_text(name, value)
        for name in schema.numeric_fields:
            if doc[name] is not None:
                out.add_float(name, doc[name])
        for name in schema.date_fields:
            if doc[name] is not None:
                out.add_integer(name, _millis(doc[name]))
        return out

    def _fill(self, gen: _Gen, docs: Iterable[Mapping[str, Any]], heap: int, threads: int, upsert: bool) -> int:
        writer = gen.index.writer(heap, threads)
        written = 0
        try:
            for raw_doc in docs:
                doc = self._document(gen.schema, raw_doc)
                if upsert:
                    writer.delete_documents_by_term("id", str(raw_doc["id"]))
                writer.add_document(doc)
                written += 1
        except BaseException:
            writer.rollback()
            raise
        writer.commit()
        writer.wait_merging_threads()
        return written

    # -- interface --------------------------------------------------------------------------------------

    def ensure_index(self, schema: Schema) -> bool:
        with self._writing(schema.name):
            gen = self._gen(schema.name)
            if gen is not None and gen.meta["schema"] == schema.fingerprint():
                return False
            self._publish(self._new_gen(schema, None))
            return True

    def index(self, schema_name: str, docs: Iterable[Mapping[str, Any]]) -> int:
        self._need(schema_name)
        with self._writing(schema_name):
            gen = self._need(schema_name)
            written = self._fill(gen, docs, _SMALL_HEAP, 1, upsert=True)
            gen.committed()
            return written

    def delete(self, schema_name: str, ids: Iterable[str]) -> None:
        self._need(schema_name)
        with self._writing(schema_name):
            gen = self._need(schema_name)
            writer = gen.index.writer(_SMALL_HEAP, 1)
            for doc_id in ids:
                writer.delete_documents_by_term("id", str(doc_id))
            writer.commit()
            writer.wait_merging_threads()
            gen.committed()

    def rebuild(self, schema: Schema, docs: Iterable[Mapping[str, Any]], batch_size: int = 500,
                stamp: Mapping[str, Any] | None = None) -> int:
        """Fill a new generation, then swap it in with its stamp: readers see the old one until then, and a failure
        midway leaves the old one live. Other writers wait (then get SearchUnavailable) meanwhile."""
        with self._writing(schema.name):
            gen = self._new_gen(schema, stamp)
            try:
                written = self._fill(gen, docs, _BULK_HEAP, 2, upsert=False)
            except BaseException:
                self._discard(gen)
                raise
            self._publish(gen)
            return written

    def stamp(self, schema_name: str) -> dict[str, Any] | None:
        gen = self._gen(schema_name)
        return None if gen is None else gen.meta.get("stamp")

    def set_stamp(self, schema_name: str, stamp: Mapping[str, Any] | None) -> None:
        self._need(schema_name)
        with self._writing(schema_name):
            gen = self._need(schema_name)
            gen.meta = {**gen.meta, "stamp": None if stamp is None else dict(stamp)}
            if gen.folder is not None:
                self._write_meta(gen.folder, gen.meta)

    def refresh(self, schema_name: str) -> None:
        self._need(schema_name)

    def clear(self, schema_name: str) -> None:
        self._need(schema_name)
        with self._writing(schema_name):
            gen = self._need(schema_name)
            writer = gen.index.writer(_SMALL_HEAP, 1)
            writer.delete_all_documents()
            writer.commit()
            writer.wait_merging_threads()
            gen.committed()

    def drop(self, schema_name: str) -> None:
        with self._writing(schema_name):
            self._gens.pop(schema_name, None)
            self._pointers.pop(schema_name, None)
            if self.root is not None:
                shutil.rmtree(self._dir(schema_name), ignore_errors=True)

    def count(self, schema_name: str) -> int:
        return self._need(schema_name).searcher().num_docs

    def health(self) -> dict[str, Any]:
        try:
            if self.root is not None and not os.access(self.root, os.R_OK | os.W_OK):
                raise OSError(f"{self.root} is not readable and writable")
            return {"ok": True, "backend": "embedded", "engine": "tantivy", "path": self.path}
        except OSError as exc:
            return {"ok": False, "backend": "embedded", "engine": "tantivy", "path": self.path, "error": str(exc)}

    def close(self) -> None:
        self._gens.clear()
        self._pointers.clear()

    # -- search -----------------------------------------------------------------------------------------

    def search(self, schema_name: str, query: SearchQuery) -> SearchResult:
        gen = self._need(schema_name)
        schema = gen.schema
        query.check(schema)
        parsed = parse_query(query.q)
        query_tokens = parsed.tokens()
        text = self._text_query(gen, parsed, query_tokens)
        scored = text is not None and query.sort_field() is None
        base = [text] if text is not None else []
        for name, bounds in query.ranges.items():
            lo, hi = range_bounds(schema, name, bounds)
            if lo is not None or hi is not None:
                base.append(_filter(self._range(gen, name, lo, hi)))
        if parsed.must_not and text is None:  # exclusions only: every document but those
            base.append(_filter(Query.all_query()))
        filters = {name: _filter(self._filter_query(gen, query, name)) for name, values in query.filters.items()
                   if values}
        if not base and not filters:
            hits_query = Query.all_query()
        else:
            hits_query = _must(*base, *filters.values())
        if parsed.must_not:
            units = [self._unit(gen, unit) for unit in parsed.must_not]
            hits_query = Query.boolean_query([(Occur.Must, hits_query), *((Occur.MustNot, u) for u in units)])
            base = [Query.boolean_query([(Occur.Must, _must(*base)), *((Occur.MustNot, u) for u in units)])]
        searcher = gen.searcher()
        total, page = self._page(searcher, gen, query, hits_query, scored)
        facets = self._facets(searcher, gen, query, base, filters) if query.facets or query.range_facets else {}
        stored: dict[str, dict[str, str]] = {}
        ids = []
        for address in page:
            found = searcher.doc(address).to_dict()
            doc_id = found["id"][0]
            ids.append(doc_id)
            if query.highlight_fields and query_tokens:
                stored[doc_id] = json.loads(bytes(found["raw"][0]))
        return SearchResult(total=total, ids=ids, facets=facets,
                            highlights=highlights_for(stored, query.highlight_fields, query_tokens,
                                                      query.fragment_size))

    # query parts

    def _token(self, gen: _Gen, token: str) -> Query:
        """One token: in some text field; the fields' BM25 parts add up, times their boosts."""
        clauses = []
        for name, boost in gen.schema.text_fields.items():
            term = Query.term_query(gen.tschema, name, token)
            clauses.append(term if boost == 1.0 else Query.boost_query(term, boost))
        return _either(clauses)

    def _unit(self, gen: _Gen, unit: Unit) -> Query:
        if unit.phrase:
            clauses = []
            for name, boost in gen.schema.text_fields.items():
                phrase = Query.phrase_query(gen.tschema, name, list(unit.tokens))
                clauses.append(phrase if boost == 1.0 else Query.boost_query(phrase, boost))
            return _either(clauses)
        return _must(*(self._token(gen, t) for t in unit.tokens))

    def _text_query(self, gen: _Gen, parsed: ParsedQuery, query_tokens: list[str]) -> Query | None:
        if parsed.simple:
            return _must(*(self._token(gen, t) for t in query_tokens)) if query_tokens else None
        if not parsed.must:
            return None
        return _must(*(_either([self._unit(gen, u) for u in group]) for group in parsed.must))

    def _range(self, gen: _Gen, name: str, lo: Any, hi: Any) -> Query:
        """Stored-form bounds (inclusive, None open) on a numeric or date field; both open: the field exists."""
        if lo is None and hi is None:
            return Query.exists_query(name)
        if name in gen.schema.date_fields:
            return Query.range_query(gen.tschema, name, FieldType.Integer, None if lo is None else _millis(lo),
                                     None if hi is None else _millis(hi))
        return Query.range_query(gen.tschema, name, FieldType.Float, lo, hi)

    def _filter_query(self, gen: _Gen, query: SearchQuery, name: str) -> Query:
        values = {keyword_value(v) for v in query.filters[name]}
        if name in query.range_facets:
            field_name = query.range_facets[name][0]
            chosen = [self._range(gen, field_name, lo, hi) for key, lo, hi in range_buckets(gen.schema, query, name)
                      if key in values]
            return _either(chosen) if chosen else Query.empty_query()
        return Query.term_set_query(gen.tschema, name, sorted(values))

    # the page

    def _page(self, searcher, gen: _Gen, query: SearchQuery, hits: Query, scored: bool) -> tuple[int, list[Any]]:
        """The total and the page's addresses, in the contract's order."""
        need = query.offset + query.per_page
        sort = query.sort_field()
        if sort is None:
            if scored:
                total, found = self._top(searcher, hits, need, None, True)
                keyed = [(-score, addr) for score, addr in found]
            else:
                total, found = self._top(searcher, hits, need, "rid", False)
                keyed = [(0, addr) for _key, addr in found]
            return total, self._ordered(searcher, keyed)[query.offset : need]
        field_name, descending = sort
        with_value = _must(hits, _filter(Query.exists_query(field_name)))
        n_with, found = self._top(searcher, with_value, need, field_name, descending)
        keyed = [(-value if descending else value, addr) for value, addr in found]
        page = self._ordered(searcher, keyed)[query.offset : need]
        missing = Query.boolean_query([(Occur.Must, hits), (Occur.MustNot, Query.exists_query(field_name))])
        n_missing, rest = self._top(searcher, missing, max(0, need - n_with), "rid", False)
        if len(page) < query.per_page and rest:
            skip = max(0, query.offset - n_with)
            page += self._ordered(searcher, [(0, addr) for _key, addr in rest])[skip : skip + query.per_page
                                                                                    - len(page)]
        return n_with + n_missing, page

    @staticmethod
    def _top(searcher, hits: Query, need: int, field_name: str | None, descending: bool) -> tuple[int, list[Any]]:
        """The count and at least the first ``need`` hits (score, or the field's value, and address), plus every
        hit tying with the last of them, so the caller can break the ties by id."""
        if need == 0:
            return searcher.search(hits, 1, count=True).count, []
        limit = need + 1
        order = Order.Desc if descending else Order.Asc
        while True:
            if field_name is None:
                res = searcher.search(hits, limit, count=True)
            else:
                res = searcher.search(hits, limit, count=True, order_by_field=field_name, order=order)
            found = res.hits
            if len(found) < limit or found[-1][0] != found[need - 1][0]:
                return res.count, found
            limit *= 4

    @staticmethod
    def _ordered(searcher, keyed: list[tuple[Any, Any]]) -> list[Any]:
        """Addresses sorted by (key, id): the fast ``rid`` first, the stored id where two ``rid`` are equal."""
        if not keyed:
            return []
        rids = searcher.fast_field_values("rid", [addr for _k, addr in keyed])
        rows = [(key, rid, i) for i, ((key, _a), rid) in enumerate(zip(keyed, rids, strict=True))]
        seen: dict[tuple[Any, int], int] = {}
        clash = set()
        for key, rid, i in rows:
            if (key, rid) in seen:
                clash.update((i, seen[(key, rid)]))
            seen[(key, rid)] = i
        full = {i: searcher.doc(keyed[i][1]).to_dict()["id"][0] for i in clash}
        rows.sort(key=lambda r: (r[0], r[1], full.get(r[2], "")))
        return [keyed[i][1] for _k, _r, i in rows]

    # facets

    def _facets(self, searcher, gen: _Gen, query: SearchQuery, base: list[Query],
                filters: dict[str, Query]) -> dict[str, list[tuple[str, int]]]:
        """Disjunctive facets: each facet over ``q``, ranges and the filters of the other fields; the facets of
        unfiltered fields share one aggregation pass (terms for keyword fields, range for range facets)."""
        scopes: dict[str | None, dict[str, Any]] = {}
        for name in query.facets:
            scopes.setdefault(name if name in filters else None, {})[name] = {
                "terms": {"field": name, "size": 4 * query.facet_size + 1, "segment_size": _TERMS_SIZE}}
        buckets = {name: range_buckets(gen.schema, query, name) for name in query.range_facets}
        for name in query.range_facets:
            spec = self._range_agg(gen, query.range_facets[name][0], buckets[name])
            scopes.setdefault(name if name in filters else None, {})[name] = spec
        facets: dict[str, list[tuple[str, int]]] = {}
        for scope, wanted in scopes.items():
            clauses = [*base, *(q for other, q in filters.items() if other != scope)]
            scope_query = _must(*clauses) if clauses else Query.all_query()
            terms = {name: spec for name, spec in wanted.items() if spec is not None and "terms" in spec}
            ranges = {name: spec for name, spec in wanted.items() if spec is not None and "range" in spec}
            result = self._aggregate(searcher, scope_query, terms, ranges, query.facet_size) if terms or ranges else {}
            for name, spec in wanted.items():
                if spec is None:  # overlapping buckets: one count each
                    field_name = query.range_facets[name][0]
                    counts = [(key, self._count(searcher, _must(scope_query, _filter(self._range(gen, field_name,
                                                                                                    lo, hi)))))
                              for key, lo, hi in buckets[name]]
                elif "range" in spec:
                    got = {b["key"]: b["doc_count"] for b in result[name]["buckets"]}
                    counts = [(key, got.get(f"~{i}", 0)) for i, (key, _lo, _hi) in enumerate(buckets[name])]
                else:
                    facets[name] = result[name]
                    continue
                facets[name] = [(key, n) for key, n in counts if n]
        return {name: facets[name] for name in (*query.range_facets, *query.facets)}

    @staticmethod
    def _range_agg(gen: _Gen, field_name: str, buckets: list[tuple[str, Any, Any]]) -> dict[str, Any] | None:
        """A range aggregation for inclusive stored-form buckets (keys ``~0``, ``~1``…: tantivy adds buckets of its
        own for the gaps), or None when buckets overlap (tantivy's range aggregation refuses that)."""
        bounds = []
        for i, (_key, lo, hi) in enumerate(buckets):
            if field_name in gen.schema.date_fields:
                lo, hi = (None if lo is None else _millis(lo)), (None if hi is None else _millis(hi) + 1)
            else:
                hi = None if hi is None else math.nextafter(hi, math.inf)
            bounds.append((-math.inf if lo is None else lo, math.inf if hi is None else hi, i))
        bounds.sort()
        if any(lo >= hi for lo, hi, _i in bounds) or any(a[1] > b[0] for a, b in zip(bounds, bounds[1:],
                                                                                              strict=False)):
            return None
        ranges = [{"key": f"~{i}", **({"from": lo} if lo != -math.inf else {}),
                   **({"to": hi} if hi != math.inf else {})} for lo, hi, i in bounds]
        return {"range": {"field": field_name, "ranges": ranges}}

    @staticmethod
    def _count(searcher, query: Query) -> int:
        return searcher.search(query, 1, count=True).count

    @staticmethod
    def _aggregate(searcher, query: Query, aggs: dict[str, Any], ranges: dict[str, Any],
                   size: int) -> dict[str, Any]:
        """Terms counts ordered by count desc then value asc, the first ``size``; asks again for more values while
        the last one asked for ties with the ``size``-th (tantivy orders ties its own way). Range aggregations
        come back as tantivy gives them."""
        out: dict[str, Any] = {}
        while aggs or ranges:
            result = searcher.aggregate(query, {**aggs, **ranges})
            out.update({name: result[name] for name in ranges})
            ranges = {}
            again = {}
            for name, spec in aggs.items():
                got = [(b["key"], b["doc_count"]) for b in result[name]["buckets"] if b["doc_count"]]
                asked = spec["terms"]["size"]
                if len(got) >= asked and got[-1][1] == got[size - 1][1]:
                    again[name] = {"terms": {**spec["terms"], "size": asked * 4}}
                else:
                    out[name] = sorted(got, key=lambda vc: (-vc[1], vc[0]))[:size]
            aggs = again
        return out
