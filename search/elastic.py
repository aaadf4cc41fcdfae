"""The Elasticsearch backend (official ``elasticsearch`` 9.x client), for the same contract as the embedded one.

Text arrives pre-analysed by :mod:`search.analysis` and is indexed with the built-in ``whitespace`` analyzer
(the minimal server has no ``cjk`` analyzer), queried with one ``term`` clause per token and field, so the
tokens and the BM25 sums match the embedded backend. Each index is one shard (exact statistics and facet
counts) behind an alias ``<prefix><schema name>``; a rebuild fills a fresh index then swaps the alias.
The raw text is kept in a non-indexed ``raw`` object for highlighting in Python.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError
from elasticsearch.helpers import streaming_bulk

from .analysis import analyzed
from .base import (
    Schema,
    SearchBackend,
    SearchError,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    UnknownIndex,
    batched,
    parse_query,
)
from .elastic_client import CLIENT_MAJOR, CompatElasticsearch, unavailable
from .elastic_query import read_facets, search_body
from .highlight import highlights_for

__all__ = ["ElasticsearchBackend"]

_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_MAPPING_VERSION = 2  # 2: text fields keep positions (phrases); an index of an older mapping is recreated


def _mapping(schema: Schema, stamp: Mapping[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"id": {"type": "keyword"}, "raw": {"type": "object", "enabled": False}}
    for name in schema.text_fields:
        props[name] = {"type": "text", "analyzer": "whitespace", "index_options": "positions"}  # phrases
    for name in schema.keyword_fields:
        props[name] = {"type": "keyword"}
    for name in schema.numeric_fields:
        props[name] = {"type": "double"}
    for name in schema.date_fields:
        props[name] = {"type": "date", "format": "strict_date_optional_time"}
    return {"dynamic": "strict", "_meta": _meta(schema, stamp), "properties": props}


def _meta(schema: Schema, stamp: Mapping[str, Any] | None) -> dict[str, Any]:
    """The mapping's ``_meta``: the schema fingerprint and the identity record (as JSON text, or absent)."""
    meta: dict[str, Any] = {"schema": schema.fingerprint(), "mapping": _MAPPING_VERSION}
    if stamp is not None:
        meta["stamp"] = json.dumps(dict(stamp), sort_keys=True, ensure_ascii=False)
    return meta


class ElasticsearchBackend(SearchBackend):
    """Indexes ``<index_prefix><schema name>`` on an Elasticsearch 8.x/9.x server; no I/O until first used."""

    def __init__(self, url: str, index_prefix: str = "market-", request_timeout: float = 10.0) -> None:
        if not _PREFIX.match(index_prefix):
            raise ValueError(f"index prefix must be lower-case letters, digits, '-' or '_': {index_prefix!r}")
        self.url = url
        self.prefix = index_prefix
        self._timeout = request_timeout
        self._es: Elasticsearch | None = None
        self._schemas: dict[str, Schema] = {}
        self._versions = f"{index_prefix}0versions"
        self._versions_ready = False

    # -- plumbing ---------------------------------------------------------------------------------------

    @property
    def client(self) -> Elasticsearch:
        """The client, created on first use with the API version the server speaks."""
        if self._es is None:
            opts: dict[str, Any] = {"request_timeout": self._timeout, "max_retries": 1, "retry_on_timeout": False}
            probe = Elasticsearch(self.url, **opts)
            try:
                with unavailable():
                    resp = probe.transport.perform_request(
                        "GET", "/_nodes/_local?filter_path=nodes.*.version", headers={"accept": "application/json"}
                    )
                versions = [n["version"] for n in resp.body["nodes"].values()]
                major = int(versions[0].split(".")[0])
            finally:
                probe.close()
            cls = type("_Compat", (CompatElasticsearch,), {"compat_major": min(major, CLIENT_MAJOR)})
            self._es = cls(self.url, **opts)
        return self._es

    def alias(self, schema_name: str) -> str:
        """The alias searches and writes go through."""
        return f"{self.prefix}{schema_name}"

    def _schema(self, name: str) -> Schema:
        schema = self._schemas.get(name)
        if schema is None:
            found = self._current(name)
            if found is None:
                raise UnknownIndex(name)
            schema = self._schemas[name] = found[1]
        return schema

    def _current(self, name: str) -> tuple[list[str], Schema | None] | None:
        """The concrete indexes behind the alias and the schema stored in their mapping, or None."""
        found = self._current_meta(name)
        return None if found is None else (found[0], found[1])

    def _current_meta(self, name: str) -> tuple[list[str], Schema | None, dict[str, Any] | None] | None:
        """:meth:`_current` and the identity record stored in the mapping."""
        with unavailable():
            try:
                mappings = self.client.indices.get_mapping(index=self.alias(name)).body
            except NotFoundError:
                return None
        schema = stamp = None
        for info in mappings.values():
            meta = info.get("mappings", {}).get("_meta", {})
            if "schema" in meta and meta.get("mapping") == _MAPPING_VERSION:
                schema = Schema.from_fingerprint(meta["schema"])
            stamp = json.loads(meta["stamp"]) if meta.get("stamp") else None
        return sorted(mappings), schema, stamp

    def _create(self, schema: Schema, refresh_interval: str = "1s", stamp: Mapping[str, Any] | None = None) -> str:
        name = f"{self.alias(schema.name)}-{time.time_ns()}"
        settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": refresh_interval}
        with unavailable():
            self.client.indices.create(index=name, settings=settings, mappings=_mapping(schema, stamp))
        return name

    def _swap(self, schema_name: str, new: str) -> None:
        """Point the alias at ``new`` alone in one atomic step, then delete the indexes it pointed at."""
        alias = self.alias(schema_name)
        current = self._current(schema_name)
        old = current[0] if current else []
        actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": alias}} for i in old]
        actions.append({"add": {"index": new, "alias": alias}})
        with unavailable():
            self.client.indices.update_aliases(actions=actions)
            if old:
                self.client.indices.delete(index=",".join(old))
        self._changed(schema_name)

    def _changed(self, schema_name: str) -> None:
        """After every write: a new data version of the index (a document of the prefix's ``0versions`` index, which
        no alias can be named: schema names start with a letter)."""
        with unavailable():
            if not self._versions_ready:
                self.client.options(ignore_status=400).indices.create(
                    index=self._versions, settings={"number_of_shards": 1, "number_of_replicas": 0})
                self._versions_ready = True
            self.client.index(index=self._versions, id=schema_name, document={"v": uuid.uuid4().hex})

    def data_version(self, schema_name: str) -> str | None:
        """The version document written by the last write of any process (a realtime GET: no refresh needed)."""
        try:
            with unavailable():
                return self.client.get(index=self._versions, id=schema_name, source_includes="v")["_source"]["v"]
        except (NotFoundError, SearchError):
            return None  # no version yet (nothing cached), or the engine is down (the search says so)

    def _source(self, schema: Schema, doc: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"id": doc["id"], "raw": {f: doc[f] for f in schema.text_fields}}
        for name in schema.text_fields:
            body[name] = analyzed(doc[name])
        for name in (*schema.keyword_fields, *schema.numeric_fields, *schema.date_fields):
            if doc[name] not in (None, []):
                body[name] = doc[name]
        return body

    def _bulk(self, actions: Iterable[dict[str, Any]], ignore_404: bool = False) -> int:
        done = 0
        results = streaming_bulk(self.client, actions, chunk_size=500, raise_on_error=False)
        with unavailable():
            for ok, item in results:
                info = next(iter(item.values()))
                if ok or (ignore_404 and info.get("status") == 404):
                    done += 1
                elif info.get("status") in (429, 503):
                    raise SearchUnavailable(f"bulk item rejected: {info}")
                else:
                    raise SearchError(f"bulk item failed: {info}")
        return done

    def _pipelined_bulk(self, actions: Iterable[dict[str, Any]], senders: int = 2) -> int:
        """:meth:`_bulk` with the next chunks prepared while the server indexes the current ones.

        ``actions`` is consumed in the calling thread (it may read the caller's database session and does the
        text analysis); ``senders`` threads stream the prepared chunks of 500 to the server, so the server
        indexes one chunk while the next is sent and the caller prepares the following ones (the GIL is
        released while waiting on the network). At most 4 chunks wait prepared.
        """
        chunks: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=4)
        done: list[int] = []
        errors: list[BaseException] = []

        def feed() -> Iterator[dict[str, Any]]:
            while (chunk := chunks.get()) is not None:
                yield from chunk

        def send() -> None:
            try:
                done.append(self._bulk(feed()))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                errors.append(exc)

        def put(item: list[dict[str, Any]] | None) -> None:
            while not errors and any(t.is_alive() for t in threads):
                try:
                    chunks.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue
            raise errors[0] if errors else SearchError("bulk senders stopped")

        threads = [threading.Thread(target=send, name=f"search-bulk-{n}", daemon=True) for n in range(senders)]
        for t in threads:
            t.start()
        try:
            for chunk in batched(actions, 500):
                put(chunk)
        finally:
            stops = len(threads)  # one end-of-stream mark per sender, even after an error (so none waits forever)
            while stops and any(t.is_alive() for t in threads):
                try:
                    chunks.put(None, timeout=0.1)
                    stops -= 1
                except queue.Full:
                    continue
            for t in threads:
                t.join()
        if errors:
            raise errors[0]
        return sum(done)

    # -- interface --------------------------------------------------------------------------------------

    def ensure_index(self, schema: Schema) -> bool:
        current = self._current(schema.name)
        self._schemas[schema.name] = schema
        if current is not None and current[1] == schema:
            return False
        self._swap(schema.name, self._create(schema))
        return True

    def index(self, schema_name: str, docs: Iterable[Mapping[str, Any]]) -> int:
        schema = self._schema(schema_name)
        alias = self.alias(schema_name)

        def actions() -> Iterator[dict[str, Any]]:
            for raw in docs:
                doc = schema.normalise(raw)
                yield {"_op_type": "index", "_index": alias, "_id": doc["id"], "_source": self._source(schema, doc)}

        try:
            return self._bulk(actions())
        finally:
            self._changed(schema_name)

    def delete(self, schema_name: str, ids: Iterable[str]) -> None:
        alias = self.alias(self._schema(schema_name).name)
        try:
            self._bulk(({"_op_type": "delete", "_index": alias, "_id": str(i)} for i in ids), ignore_404=True)
        finally:
            self._changed(schema_name)

    def rebuild(self, schema: Schema, docs: Iterable[Mapping[str, Any]], batch_size: int = 500,
                stamp: Mapping[str, Any] | None = None) -> int:
        """Fill a fresh index (its mapping carrying ``stamp``) with ``docs``, then swap the alias to it atomically
        and drop the old one."""
        self._schemas[schema.name] = schema
        new = self._create(schema, refresh_interval="-1", stamp=stamp)
        try:
            written = self._pipelined_bulk(
                {"_op_type": "index", "_index": new, "_id": d["id"], "_source": self._source(schema, d)}
                for d in map(schema.normalise, docs)
            )
            with unavailable():
                self.client.indices.put_settings(index=new, settings={"refresh_interval": "1s"})
                self.client.indices.refresh(index=new)
        except BaseException:
            with unavailable():
                self.client.indices.delete(index=new, ignore_unavailable=True)
            raise
        self._swap(schema.name, new)
        return written

    def refresh(self, schema_name: str) -> None:
        self._schema(schema_name)
        with unavailable():
            self.client.indices.refresh(index=self.alias(schema_name))
        self._changed(schema_name)

    def stamp(self, schema_name: str) -> dict[str, Any] | None:
        found = self._current_meta(schema_name)
        return None if found is None else found[2]

    def set_stamp(self, schema_name: str, stamp: Mapping[str, Any] | None) -> None:
        schema = self._schema(schema_name)
        with unavailable():
            self.client.indices.put_mapping(index=self.alias(schema_name), meta=_meta(schema, stamp))

    def clear(self, schema_name: str) -> None:
        """Swap in an empty index (the minimal server has no delete-by-query)."""
        self._swap(schema_name, self._create(self._schema(schema_name)))

    def drop(self, schema_name: str) -> None:
        current = self._current(schema_name)
        if current:
            with unavailable():
                self.client.indices.delete(index=",".join(current[0]))
            self._changed(schema_name)
        self._schemas.pop(schema_name, None)

    def drop_all(self) -> None:
        """Delete every index under this backend's prefix (test clean-up)."""
        with unavailable():
            names = list(self.client.indices.get(index=f"{self.prefix}*", expand_wildcards="all").body)
            if names:
                self.client.indices.delete(index=",".join(names))
        self._schemas.clear()
        self._versions_ready = False

    def count(self, schema_name: str) -> int:
        self._schema(schema_name)
        with unavailable():
            return int(self.client.count(index=self.alias(schema_name))["count"])

    def health(self) -> dict[str, Any]:
        try:
            with unavailable():
                status = self.client.cluster.health(timeout="5s")["status"]
            return {"ok": status in ("green", "yellow"), "backend": "elasticsearch", "url": self.url, "status": status}
        except (SearchError, ApiError) as exc:
            return {"ok": False, "backend": "elasticsearch", "url": self.url, "error": str(exc)}

    def close(self) -> None:
        if self._es is not None:
            self._es.close()
            self._es = None

    # -- search -----------------------------------------------------------------------------------------

    def run_search(self, schema_name: str, query: SearchQuery) -> SearchResult:
        schema = self._schema(schema_name)
        query.check(schema)
        body = search_body(schema, query)
        with unavailable():
            resp = self.client.search(index=self.alias(schema_name), **body).body
        hits = resp["hits"]["hits"]
        stored = {h["_id"]: h["_source"]["raw"] for h in hits if "_source" in h}
        return SearchResult(
            total=resp["hits"]["total"]["value"],
            ids=[h["_id"] for h in hits],
            facets=read_facets(schema, query, resp),
            highlights=highlights_for(stored, query.highlight_fields, parse_query(query.q).tokens(),
                                      query.fragment_size),
        )
