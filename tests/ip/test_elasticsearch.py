"""With MARKET_TEST_ELASTICSEARCH_URL: indexing through the app on Elasticsearch; an engine down loses nothing."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import func, select

from market.db import db, utcnow
from market.ip import indexing
from market.ip.demo import LEGAL_STATUS
from market.ip.finder import PatentSearch, build_query, run
from market.ip.importer import import_file
from market.outbox.models import SearchOutbox
from tests.outbox.engines import drop_indexes, new_prefix

ES_URL = os.environ.get("MARKET_TEST_ELASTICSEARCH_URL")
pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(not ES_URL and os.environ.get("MARKET_TEST_REQUIRE_SERVICES") != "1",
                       reason="MARKET_TEST_ELASTICSEARCH_URL not set"),
]


@pytest.fixture
def prefix():
    value = new_prefix()
    yield value
    drop_indexes(value)  # every index a sync or rebuild made under the prefix


def legal_slice(tmp_path, rows: int = 200):
    """The first rows of the real legal-status file (the registry tests import every row)."""
    lines = LEGAL_STATUS.read_text(encoding="utf-8").splitlines(keepends=True)
    out = tmp_path / "legal.csv"
    out.write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return out


def test_app_indexes_through_elasticsearch(make_app, prefix, tmp_path):
    app = make_app(ELASTICSEARCH_URL=ES_URL, SEARCH_INDEX_PREFIX=prefix)
    with app.app_context():
        import_file(db.session, None, legal_slice(tmp_path), utcnow())
        db.session.commit()
        result = indexing.drain(db.session, indexing.get_backend())
        db.session.commit()
        # the index was never built from this database: opening it rebuilt it, which covered the 200 changes
        assert result.error is None and result.remaining == 0 and indexing.get_backend().count("patents") == 200
        hits = run(db.session, indexing.get_backend(), build_query(PatentSearch(q="合金"), date.today()))
        assert hits.total > 0 and all("合金" in a.title or a.abstract for a in hits.items[:5])
        # the full reindex reads the database in this thread while a sender thread feeds the server
        assert indexing.reindex(db.session, indexing.get_backend()) == 200
        again = run(db.session, indexing.get_backend(), build_query(PatentSearch(q="合金"), date.today()))
        assert again.total == hits.total


def test_engine_down_during_import_then_sync_to_real_elasticsearch(make_app, prefix, tmp_path):
    down = make_app(ELASTICSEARCH_URL="http://127.0.0.1:9", SEARCH_INDEX_PREFIX=prefix)
    out = down.test_cli_runner().invoke(args=["import", "patents", str(legal_slice(tmp_path))])
    assert out.exit_code == 0, out.output
    assert "200 waiting" in out.output or "200 changes wait" in out.output
    url = down.config["SQLALCHEMY_DATABASE_URI"]
    up = make_app(url=url, ELASTICSEARCH_URL=ES_URL, SEARCH_INDEX_PREFIX=prefix)
    out = up.test_cli_runner().invoke(args=["search", "sync"])
    assert out.exit_code == 0, out.output
    with up.app_context():
        assert db.session.scalar(select(func.count()).select_from(SearchOutbox)) == 0
        assert indexing.get_backend().count("patents") == 200
