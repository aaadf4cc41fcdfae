"""Search for IP Pledge Market: a backend interface, an embedded SQLite FTS5 backend and an Elasticsearch one.

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
    "make_backend",
]


def make_backend(url: str | None, embedded_path: str, index_prefix: str = "market-") -> SearchBackend:
    """The backend for a configuration: no URL → embedded SQLite at ``embedded_path``; http(s) URL → Elasticsearch."""
    if not url:
        from .embedded import EmbeddedBackend

        return EmbeddedBackend(embedded_path)
    if url.startswith(("http://", "https://")):
        from .elastic import ElasticsearchBackend

        return ElasticsearchBackend(url, index_prefix=index_prefix)
    raise ValueError(f"unsupported search URL {url!r} (expected http:// or https://)")
