"""Fixtures for the search contract: backends, a small patent fixture set, and the real patent CSV.

The Elasticsearch backend runs when ``MARKET_TEST_ELASTICSEARCH_URL`` is set; it skips otherwise, unless
``MARKET_TEST_REQUIRE_SERVICES=1``, where a missing or unreachable server fails the tests instead.
Every Elasticsearch backend gets its own index prefix and deletes its indexes afterwards.
"""

from __future__ import annotations

import csv
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Under a bare `pytest` (not `python -m pytest`) the repo root may be missing from sys.path while tests/ is
# there, and then `import search` finds this directory as a namespace package instead of the real one.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from searchdata import ES_URL, PATENT_CSV, REAL_SCHEMA, REQUIRE_SERVICES, elasticsearch_url  # noqa: E402

from search.elastic import ElasticsearchBackend  # noqa: E402
from search.fulltext import TantivyBackend  # noqa: E402


def new_elastic_backend() -> ElasticsearchBackend:
    """A backend on the test server with a fresh index prefix; skips or fails when the server is unreachable."""
    backend = ElasticsearchBackend(elasticsearch_url(), index_prefix=f"test-{uuid.uuid4().hex[:12]}-")
    health = backend.health()
    if not health["ok"]:
        backend.close()
        message = f"Elasticsearch at {ES_URL} is not usable: {health}"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return backend


@pytest.fixture
def elastic_backend() -> Iterator[ElasticsearchBackend]:
    backend = new_elastic_backend()
    yield backend
    backend.drop_all()
    backend.close()


def load_real_patents() -> list[dict[str, Any]]:
    """The 9,740 real patents as documents for :data:`REAL_SCHEMA`."""
    with PATENT_CSV.open(encoding="utf-8", newline="") as fh:
        return [
            {
                "id": row["publication_number"],
                "title": row["title"],
                "kind": row["kind_code"],
                "ipc_subclass": [c for c in row["ipc_subclasses"].split("|") if c],
            }
            for row in csv.DictReader(fh)
        ]


@pytest.fixture(scope="session")
def real_patents() -> list[dict[str, Any]]:
    if not PATENT_CSV.exists():
        pytest.skip(f"real patent data not found at {PATENT_CSV}")
    return load_real_patents()


@pytest.fixture(scope="session")
def real_elastic(real_patents) -> Iterator[ElasticsearchBackend]:
    backend = new_elastic_backend()
    backend.rebuild(REAL_SCHEMA, real_patents)
    yield backend
    backend.drop_all()
    backend.close()


@pytest.fixture
def tantivy_backend(tmp_path: Path) -> Iterator[TantivyBackend]:
    backend = TantivyBackend(str(tmp_path / "search.tantivy"))
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def real_tantivy(real_patents, tmp_path_factory) -> Iterator[TantivyBackend]:
    backend = TantivyBackend(str(tmp_path_factory.mktemp("real") / "search.tantivy"))
    backend.rebuild(REAL_SCHEMA, real_patents)
    yield backend
    backend.close()
