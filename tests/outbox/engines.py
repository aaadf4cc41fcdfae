"""The search engines an app test runs on: embedded always, Elasticsearch with MARKET_TEST_ELASTICSEARCH_URL (skips
without it, fails under MARKET_TEST_REQUIRE_SERVICES=1). Each Elasticsearch run gets its own index prefix and drops
its indexes afterwards. Use: a fixture with ``params=ENGINES`` that yields from ``app_search_settings``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from search import make_backend
from tests.search.searchdata import ES_URL, elasticsearch_url

__all__ = ["ENGINES", "app_search_settings", "drop_indexes", "elasticsearch_url", "new_prefix"]

ENGINES = ["embedded", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]


def new_prefix() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def drop_indexes(prefix: str) -> None:
    backend = make_backend(ES_URL, ":memory:", index_prefix=prefix + "-")
    try:
        backend.drop_all()
    finally:
        backend.close()


@contextmanager
def app_search_settings(engine: str, tmp_path) -> Iterator[dict]:
    """App settings for the engine (an embedded index file under tmp_path, or Elasticsearch with a fresh prefix)."""
    if engine == "embedded":
        yield {"SEARCH_EMBEDDED_PATH": str(tmp_path / "search.sqlite3")}
        return
    url, prefix = elasticsearch_url(), new_prefix()
    try:
        yield {"ELASTICSEARCH_URL": url, "SEARCH_INDEX_PREFIX": prefix}
    finally:
        drop_indexes(prefix)
