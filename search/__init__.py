"""Search for IP Pledge Market: a backend interface, an embedded tantivy backend (no server needed) and an
Elasticsearch one.

This package knows nothing of ``market``: the application hands it plain dicts and gets ids back.
"""

from __future__ import annotations

from .base import (
    Schema,
    SearchBackend,
    SearchError,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    UnknownIndex,
)

__all__ = [
    "Schema",
    "SearchBackend",
    "SearchError",
    "SearchQuery",
    "SearchResult",
    "SearchUnavailable",
    "UnknownIndex",
    "embedded_folder",
    "make_backend",
]


def embedded_folder(embedded_path: str) -> str:
    """The tantivy folder for a configured embedded path: ``x.search.sqlite3`` → ``x.search.tantivy`` beside it
    (the configuration names the index after its database), ``":memory:"`` stays in memory."""
    if embedded_path == ":memory:" or embedded_path.startswith("file:"):
        return ":memory:"
    return embedded_path.removesuffix(".sqlite3") + ".tantivy"


def make_backend(url: str | None, embedded_path: str, index_prefix: str = "market-") -> SearchBackend:
    """The backend for a configuration: no URL → embedded tantivy beside ``embedded_path`` (see
    :func:`embedded_folder`); http(s) URL → Elasticsearch."""
    if not url:
        from .fulltext import TantivyBackend

        return TantivyBackend(embedded_folder(embedded_path))
    if url.startswith(("http://", "https://")):
        from .elastic import ElasticsearchBackend

        return ElasticsearchBackend(url, index_prefix=index_prefix)
    raise ValueError(f"unsupported search URL {url!r} (expected http:// or https://)")
