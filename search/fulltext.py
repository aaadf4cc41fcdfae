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
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tantivy import Index, Occur, Query

from .base import (
    Schema,
    SearchBackend,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    UnknownIndex,
    parse_query,
    range_bounds,
)
from .fulltext_facets import facets as facet_counts
from .fulltext_query import const, filter_query, must, page, range_query, text_query, unit
from .fulltext_schema import Generation, document, tantivy_schema
from .highlight import highlights_for

__all__ = ["TantivyBackend"]

_META = "market.json"
_SMALL_HEAP = 16_000_000  # one writer thread for the outbox's small batches
_BULK_HEAP = 128_000_000  # a rebuild: two threads of 64 MB


class TantivyBackend(SearchBackend):
    """Search indexes in one folder (``":memory:"`` for tests), shared safely by several processes."""

    def __init__(self, path: str, lock_timeout: float = 10.0) -> None:
        self.path = path
        self.memory = path == ":memory:"
        self.root = None if self.memory else Path(path)
        self.lock_timeout = lock_timeout
        self._gens: dict[str, Generation] = {}  # disk: the generation last opened per index; memory: the index itself
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

    def _gen(self, name: str) -> Generation | None:
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
                        gen = Generation(Schema.from_fingerprint(meta["schema"]), Index.open(str(folder)), meta, folder)
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

    def _need(self, name: str) -> Generation:
        gen = self._gen(name)
        if gen is None:
            raise UnknownIndex(name)
        return gen

    def _new_gen(self, schema: Schema, stamp: Mapping[str, Any] | None) -> Generation:
        """A new, empty generation (not yet live)."""
        meta = {"schema": schema.fingerprint(), "stamp": None if stamp is None else dict(stamp)}
        if self.root is None:
            return Generation(schema, Index(tantivy_schema(schema)), meta, None)
        folder = self._dir(schema.name) / f"g-{uuid.uuid4().hex[:16]}"
        folder.mkdir(parents=True)
        index = Index(tantivy_schema(schema), path=str(folder), reuse=False)
        index.config_reader("Manual", 0)
        self._write_meta(folder, meta)
        return Generation(schema, index, meta, folder)

    @staticmethod
    def _write_meta(folder: Path, meta: Mapping[str, Any]) -> None:
        tmp = folder / f".{_META}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({k: v for k, v in meta.items() if not k.startswith("_")}, ensure_ascii=False))
        os.replace(tmp, folder / _META)

    def _publish(self, gen: Generation) -> None:
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

    def _discard(self, gen: Generation) -> None:
        if gen.folder is not None:
            shutil.rmtree(gen.folder, ignore_errors=True)

    def _fill(self, gen: Generation, docs: Iterable[Mapping[str, Any]], heap: int, threads: int, upsert: bool) -> int:
        writer = gen.index.writer(heap, threads)
        written = 0
        try:
            for raw_doc in docs:
                doc = document(gen.schema, raw_doc)
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

    def data_version(self, schema_name: str) -> tuple | None:
        """On disk: the live generation and tantivy's ``meta.json`` (every commit rewrites it atomically; it names the
        segments, their deletions and the opstamp), so every process reads the same version."""
        gen = self._gen(schema_name)
        if gen is None or gen.folder is None:
            return None if gen is None else gen.version
        return gen.folder.name, hashlib.blake2b((gen.folder / "meta.json").read_bytes(), digest_size=16).digest()

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

    def run_search(self, schema_name: str, query: SearchQuery) -> SearchResult:
        gen = self._need(schema_name)
        schema = gen.schema
        query.check(schema)
        parsed = parse_query(query.q)
        query_tokens = parsed.tokens()
        text = text_query(gen, parsed, query_tokens)
        scored = text is not None and query.sort_field() is None
        base = [text] if text is not None else []
        for name, bounds in query.ranges.items():
            lo, hi = range_bounds(schema, name, bounds)
            if lo is not None or hi is not None:
                base.append(const(range_query(gen, name, lo, hi)))
        if parsed.must_not and text is None:  # exclusions only: every document but those
            base.append(const(Query.all_query()))
        filters = {name: const(filter_query(gen, query, name)) for name, values in query.filters.items()
                   if values}
        if not base and not filters:
            hits_query = Query.all_query()
        else:
            hits_query = must(*base, *filters.values())
        if parsed.must_not:
            units = [unit(gen, u) for u in parsed.must_not]
            hits_query = Query.boolean_query([(Occur.Must, hits_query), *((Occur.MustNot, u) for u in units)])
            base = [Query.boolean_query([(Occur.Must, must(*base)), *((Occur.MustNot, u) for u in units)])]
        searcher = gen.searcher()
        total, addresses = page(searcher, gen, query, hits_query, scored)
        facets = facet_counts(searcher, gen, query, base, filters) if query.facets or query.range_facets else {}
        stored: dict[str, dict[str, str]] = {}
        ids = []
        for address in addresses:
            found = searcher.doc(address).to_dict()
            doc_id = found["id"][0]
            ids.append(doc_id)
            if query.highlight_fields and query_tokens:
                stored[doc_id] = json.loads(bytes(found["raw"][0]))
        return SearchResult(total=total, ids=ids, facets=facets,
                            highlights=highlights_for(stored, query.highlight_fields, query_tokens,
                                                      query.fragment_size))
