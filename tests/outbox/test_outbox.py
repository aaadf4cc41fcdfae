"""The shared search outbox (`market.outbox`): drain, engine down, rebuild with the high-water mark, on a real
backend (embedded always; Elasticsearch with MARKET_TEST_ELASTICSEARCH_URL), and `market search sync` /
`market search reindex` covering every index (patents and needs)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from market.db import db
from market.ip import indexing as ip_indexing
from market.ip.models import IpAsset
from market.needs import indexing as needs_indexing
from market.needs.models import Need
from market.outbox import backend as outbox_backend
from market.outbox import indexes, models, sync
from market.outbox.models import SearchOutbox
from search import Schema, SearchQuery, make_backend
from tests.conftest import NOW, Factory
from tests.factories import NeedsKit, make_asset
from tests.outbox.engines import ENGINES, app_search_settings, drop_indexes, elasticsearch_url, new_prefix

TOYS = Schema("toys", text_fields={"title": 1.0}, keyword_fields=("colour",))
DOWN_URL = "http://127.0.0.1:9"  # nothing listens there: every call fails as SearchUnavailable


class Toys:
    """A document builder over a dict standing in for the table; `during_rebuild` runs while the rebuild reads."""

    def __init__(self, world: dict[int, str], during_rebuild=None):
        self.world = world
        self.during_rebuild = during_rebuild

    def __call__(self, session, now):
        return self

    def documents(self, ids: Sequence[int]) -> list[dict]:
        return [{"id": str(i), "title": f"{self.world[i]} toy", "colour": self.world[i]}
                for i in ids if i in self.world]

    def all_documents(self) -> Iterator[dict]:
        for n, i in enumerate(sorted(self.world)):
            if n == 1 and self.during_rebuild:
                self.during_rebuild()
            yield {"id": str(i), "title": f"{self.world[i]} toy", "colour": self.world[i]}


def toy_index(world, calls: list, during_rebuild=None) -> indexes.OutboxIndex:
    return indexes.OutboxIndex(TOYS, Toys(world, during_rebuild), "Toy index",
                              on_caught_up=lambda session, backend, now: calls.append(now))


def rows(session, index_name: str) -> list[SearchOutbox]:
    return list(session.scalars(select(SearchOutbox).where(SearchOutbox.index_name == index_name)
                                .order_by(SearchOutbox.id)))


def ids_in(backend, name: str) -> set[str]:
    return set(backend.search(name, SearchQuery(per_page=100)).ids)


@pytest.fixture(params=ENGINES)
def backend(request, tmp_path):
    """A search backend on its own (no app) for the toy index."""
    if request.param == "embedded":
        engine = make_backend(None, str(tmp_path / "toys.sqlite3"))
    else:
        prefix = new_prefix()
        engine = make_backend(elasticsearch_url(), ":memory:", index_prefix=prefix + "-")
    yield engine
    engine.close()
    if request.param != "embedded":
        drop_indexes(prefix)


def opened(session, backend) -> None:
    """Open the toy index the way the app does (empty, stamped with this database), before the test's changes."""
    sync.open_index(session, backend, toy_index({}, []))


def test_drain_applies_in_batches_deletes_and_leaves_other_indexes(session, backend):
    world = {1: "red", 2: "blue", 3: "green"}
    calls: list = []
    index = toy_index(world, calls)
    opened(session, backend)
    for doc_id in (1, 2, 3):
        models.enqueue(session, "toys", doc_id, NOW)
    models.enqueue(session, "other", 1, NOW)
    session.flush()

    first = sync.drain(session, backend, index, limit=2, now=NOW, batch_size=1)
    assert (first.applied, first.remaining, first.error) == (2, 1, None)
    assert [r.doc_id for r in rows(session, "toys")] == ["3"]
    assert calls == []  # something is still waiting: not caught up
    assert ids_in(backend, "toys") == {"1", "2"}

    del world[2]  # the row is gone from the "database": its document leaves the index
    models.enqueue(session, "toys", 2, NOW)
    models.enqueue(session, "toys", "not-a-number", NOW)
    session.flush()
    second = sync.drain(session, backend, index, now=NOW)
    assert (second.applied, second.remaining, second.error) == (3, 0, None)
    assert ids_in(backend, "toys") == {"1", "3"}
    assert calls == [NOW]
    assert [r.doc_id for r in rows(session, "other")] == ["1"]  # another index's rows are not touched
    hit = backend.search("toys", SearchQuery(q="green"))
    assert hit.ids == ["3"]


def test_engine_down_keeps_every_row_and_counts_attempts(session, backend):
    world = {1: "red", 2: "blue"}
    calls: list = []
    index = toy_index(world, calls)
    opened(session, backend)
    models.enqueue(session, "toys", 1, NOW)
    models.enqueue(session, "toys", 2, NOW)
    session.flush()
    down = make_backend(DOWN_URL, ":memory:", index_prefix="down-")
    try:
        for attempt in (1, 2):
            result = sync.drain(session, down, index, now=NOW)
            assert result.applied == 0 and result.remaining == 2
            assert result.error.startswith("SearchUnavailable")
            assert [(r.attempts, r.last_error) for r in rows(session, "toys")] == [(attempt, result.error)] * 2
    finally:
        down.close()
    assert calls == []
    back = sync.drain(session, backend, index, now=NOW)
    assert (back.applied, back.remaining, back.error) == (2, 0, None)
    assert ids_in(backend, "toys") == {"1", "2"}


def test_rebuild_drops_only_rows_queued_before_it_started(session, backend):
    world = {1: "red", 2: "blue", 3: "green"}
    calls: list = []

    def change_while_rebuilding():  # a change committed by someone else while the rebuild reads
        world[4] = "yellow"
        models.enqueue(session, "toys", 4, NOW)
        session.flush()

    index = toy_index(world, calls, change_while_rebuilding)
    outbox_backend.ensure_ready(backend, TOYS)
    backend.index("toys", [{"id": "99", "title": "stale toy", "colour": "grey"}])
    backend.refresh("toys")
    models.enqueue(session, "toys", 1, NOW)
    models.enqueue(session, "toys", 2, NOW)
    session.flush()

    written = sync.reindex(session, backend, index, NOW)
    assert written == 3 and calls == [NOW]
    assert ids_in(backend, "toys") == {"1", "2", "3"}  # rebuilt from the source: the stale document is gone
    assert [r.doc_id for r in rows(session, "toys")] == ["4"]  # queued during the rebuild: kept
    result = sync.drain(session, backend, index, now=NOW)
    assert result.applied == 1 and ids_in(backend, "toys") == {"1", "2", "3", "4"}
    # a second rebuild (a new physical index behind the alias on Elasticsearch) gives the same documents
    index2 = toy_index(world, calls)
    assert sync.reindex(session, backend, index2, NOW) == 4
    assert ids_in(backend, "toys") == {"1", "2", "3", "4"} and backend.count("toys") == 4


def test_every_index_is_found_in_area_order():
    found = indexes.all_indexes()
    assert [i.name for i in found] == ["patents", "needs"]
    assert found[0] is ip_indexing.OUTBOX_INDEX and found[1] is needs_indexing.OUTBOX_INDEX
    assert ip_indexing.get_backend is outbox_backend.get_backend is needs_indexing.get_backend


def _outbox_counts(session) -> dict[str, int]:
    return dict(session.execute(select(SearchOutbox.index_name, func.count()).group_by(SearchOutbox.index_name))
                .all())


@pytest.fixture(params=ENGINES)
def search_config(request, tmp_path):
    with app_search_settings(request.param, tmp_path) as config:
        yield config


def test_search_sync_and_reindex_cover_patents_and_needs(make_app, search_config, tmp_path):
    down = make_app(ELASTICSEARCH_URL=DOWN_URL, SEARCH_EMBEDDED_PATH=str(tmp_path / "unused.sqlite3"))
    with down.app_context():
        kit = NeedsKit(db.session, Factory(db.session))
        need = kit.published_need(title="动力电池回收中试线")  # with two pledgeable assets
        # queued by the session hook, like the need
        asset = make_asset(db.session, need.org, title="一种动力电池回收方法")
        db.session.commit()
        need_id, asset_id = need.id, asset.id
        assert _outbox_counts(db.session) == {"needs": 1, "patents": 3}  # one row per document and transaction
    url = down.config["SQLALCHEMY_DATABASE_URI"]

    out = down.test_cli_runner().invoke(args=["search", "sync"])
    assert out.exit_code == 1, out.output
    assert "Patent index not updated (SearchUnavailable" in out.output
    assert "Needs index not updated (SearchUnavailable" in out.output
    assert "Search index not updated (patents: SearchUnavailable" in out.output
    assert "4 changes wait in the outbox" in out.output
    with down.app_context():
        assert _outbox_counts(db.session) == {"needs": 1, "patents": 3}
        assert set(db.session.scalars(select(SearchOutbox.attempts))) == {1}
    out = down.test_cli_runner().invoke(args=["needs", "sync-index"])  # the needs-only alias
    assert out.exit_code == 1 and "Needs index not updated" in out.output, out.output

    up = make_app(url=url, **search_config)
    runner = up.test_cli_runner()
    out = runner.invoke(args=["search", "sync"])
    assert out.exit_code == 0, out.output
    # these indexes were never built from this database (no identity record): opening them rebuilt them from it,
    # which covered the waiting changes
    assert "Patent index updated: 0 changes applied, 0 waiting." in out.output
    assert "Needs index updated: 0 changes applied, 0 waiting." in out.output
    assert "Search index updated: 0 changes applied, 0 waiting." in out.output
    with up.app_context():
        assert _outbox_counts(db.session) == {}
        backend = outbox_backend.get_backend()
        assert backend.search("patents", SearchQuery(q="动力电池")).ids == [str(asset_id)]
        assert backend.search("needs", SearchQuery(q="动力电池")).ids == [str(need_id)]
        # later changes of both indexes wait until the next sync; a rebuild covers both and drops them
        db.session.get(Need, need_id).purpose = "中试线设备"
        db.session.get(IpAsset, asset_id).abstract = "回收"
        db.session.commit()
        assert _outbox_counts(db.session) == {"needs": 1, "patents": 1}
    out = runner.invoke(args=["search", "reindex"])
    assert out.exit_code == 0, out.output
    assert "Patent index rebuilt: 3 documents." in out.output  # the asset and the need's two pledged ones
    assert "Needs index rebuilt: 1 documents." in out.output
    with up.app_context():
        assert _outbox_counts(db.session) == {}
    out = runner.invoke(args=["needs", "sync-index"])
    assert out.exit_code == 0 and "Needs index updated: 0 changes applied, 0 waiting." in out.output, out.output
    out = runner.invoke(args=["search", "reindex-needs"])
    assert out.exit_code == 0 and "1 published needs" in out.output, out.output


def test_lag_counts_one_index(session):
    models.enqueue(session, "patents", 1, NOW - timedelta(minutes=5))
    models.enqueue(session, "needs", 1, NOW - timedelta(minutes=30))
    session.flush()
    assert ip_indexing.lag(session, NOW) == (1, 300.0)
    assert models.lag(session, "needs", NOW) == (1, 1800.0)
    assert models.lag(session, "toys", datetime(2026, 1, 1)) == (0, None)
