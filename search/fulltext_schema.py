"""The embedded backend's index build: the tantivy schema of a `Schema`, a document as tantivy stores it, and one
generation of an index (see :mod:`search.fulltext`)."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Document, Index

from .analysis import analyzed
from .base import Schema

_EPOCH = datetime(1970, 1, 1)
_MILLI = timedelta(milliseconds=1)
_GENERATIONS = itertools.count(1)


def rid(doc_id: str) -> int:
    """The id's first 8 bytes as a big-endian number: ordering these orders ids by byte order (equal keys: compare
    the ids themselves)."""
    return int.from_bytes(doc_id.encode()[:8].ljust(8, b"\0"), "big")


def millis(iso: str) -> int:
    """A stored-form date (``date_value``: naive UTC ISO) as milliseconds since the epoch."""
    return (datetime.fromisoformat(iso) - _EPOCH) // _MILLI


def tantivy_schema(schema: Schema) -> tantivy.Schema:
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



def document(schema: Schema, raw_doc: Mapping[str, Any]) -> Document:
    doc = schema.normalise(raw_doc)
    out = Document()
    out.add_text("id", doc["id"])
    out.add_unsigned("rid", rid(doc["id"]))
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
            out.add_integer(name, millis(doc[name]))
    return out


class Generation:
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
        self.version = (next(_GENERATIONS), 0)  # in memory: (this generation, its commits)

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
            self.version = (self.version[0], self.version[1] + 1)
