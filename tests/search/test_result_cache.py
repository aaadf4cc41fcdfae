"""Facets and totals computed once per query and data version (search/cache.py): reused by the other pages and sorts
of a query, never after a change — made through the app's real service, by another process sharing the embedded
index, or by another backend object on the same Elasticsearch server. On both engines and, for the app, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest
from searchdata import DOCS, SCHEMA

from market.accounts.models import Role, User
from market.db import db
from market.ip import finder, indexing, service
from market.ip.importer import import_bytes
from market.ip.models import IpAsset
from search import SearchQuery
from search.cache import ResultCache, facet_key
from search.fulltext import TantivyBackend
from tests.conftest import DATABASES, PG_URL, PG_URL_2, Factory
from tests.outbox.engines import ENGINES, app_search_settings

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 9, 30)
# 12 battery patents, newest first by filing date: 5 a page sorted by date gives pages of 5, 5 and 2
ROWS = [json.dumps({"kind": "invention", "title": f"一种电池{i}号结构", "publication_number": f"CN3100000{i:02d}A",
                    "ipc": ["H01M10/052"], "filing_date": f"{2022 - i}-03-01"}, ensure_ascii=False) for i in range(12)]


# ------------------------------------------------------------------------------------------ the query key


def test_the_key_ignores_page_sort_and_highlights_only():
    base = SearchQuery(q="电池 外壳", filters={"kind": ["A", "U"]}, facets=["kind"])
    same = [SearchQuery(q=" 外壳  电池", filters={"kind": ["U", "A"], "ipc": []}, facets=["kind"], page=3, per_page=7,
                        sort="-filed_on", highlight_fields=("title",))]
    other = [SearchQuery(q="电池", filters={"kind": ["A", "U"]}, facets=["kind"]),
             SearchQuery(q="电池 外壳", filters={"kind": ["A"]}, facets=["kind"]),
             SearchQuery(q="电池 外壳", filters={"kind": ["A", "U"]}, facets=["kind", "ipc"]),
             SearchQuery(q="电池 外壳", filters={"kind": ["A", "U"]}, facets=["kind"], facet_size=5),
             SearchQuery(q="电池 外壳", filters={"kind": ["A", "U"]}, facets=["kind"],
                         ranges={"filing_date": (date(2020, 1, 1), None)}),
             SearchQuery(q="电池 OR 外壳", filters={"kind": ["A", "U"]}, facets=["kind"])]
    assert all(facet_key(q) == facet_key(base) for q in same)
    assert len({facet_key(q) for q in [base, *other]}) == 1 + len(other)


# ------------------------------------------------------------------------------------ engines on their own


def _pages(backend, query: SearchQuery, pages: int = 3) -> list:
    return [backend.search("patent", SearchQuery(**{**query.__dict__, "page": p})) for p in range(1, pages + 1)]


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def engine_pair(request, tmp_path):
    """Two backend objects on one index, each with its own cache: the embedded one in a folder (the second one
    used by another process), or two on the same Elasticsearch prefix."""
    if request.param == "embedded":
        path = str(tmp_path / "shared.tantivy")
        yield "embedded", TantivyBackend(path), path
        return
    first = request.getfixturevalue("elastic_backend")  # dropped with its indexes afterwards
    second = type(first)(first.url, index_prefix=first.prefix)
    yield "elasticsearch", first, second
    second.close()


OTHER_PROCESS = textwrap.dedent("""
    import sys
    sys.path[:0] = [{root!r}]
    import datetime
    from datetime import date
    from search.fulltext import TantivyBackend

    backend = TantivyBackend({path!r}, lock_timeout=60)
    backend.index("patent", [{doc!r}])
""")


def _write_elsewhere(kind: str, other, doc: dict) -> None:
    """Write ``doc`` through the other backend: another process for the embedded index."""
    if kind == "embedded":
        script = OTHER_PROCESS.format(root=str(ROOT), path=other, doc=doc)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    else:
        other.index("patent", [doc])
        other.refresh("patent")


def test_pages_reuse_the_facets_until_another_process_writes(engine_pair):
    kind, backend, other = engine_pair
    backend.rebuild(SCHEMA, DOCS)
    query = SearchQuery(facets=["kind", "ipc_subclass"], per_page=2, sort="-filed_on")
    cache = backend.result_cache = ResultCache()
    first = _pages(backend, query)
    assert (cache.entries.misses, cache.entries.hits) == (1, 2)  # pages 2 and 3 took the facets from the cache
    uncached = [backend.run_search("patent", SearchQuery(**{**query.__dict__, "page": p})) for p in (1, 2, 3)]
    assert [(r.total, r.ids, r.facets) for r in first] == [(r.total, r.ids, r.facets) for r in uncached]
    # a document changes its kind (same count): only the data version can tell the cache
    target = next(d for d in DOCS if d["id"] == first[1].ids[0])
    _write_elsewhere(kind, other, {**target, "kind": "X"})
    after = _pages(backend, query)
    kinds = dict(after[1].facets["kind"])
    assert kinds.get("X") == 1 and after[1].total == first[1].total
    assert after[1].facets == backend.run_search("patent", SearchQuery(**{**query.__dict__, "page": 2})).facets
    assert cache.entries.misses == 2


def test_a_hit_keeps_range_facet_filters(engine_pair):
    _kind, backend, _other = engine_pair
    backend.rebuild(SCHEMA, DOCS)
    bands = ("filed_on", [("old", None, date(2015, 12, 31)), ("new", date(2016, 1, 1), None)])
    query = SearchQuery(filters={"age": ["new"]}, facets=["kind"], range_facets={"age": bands}, per_page=1)
    cache = backend.result_cache = ResultCache()
    pages = _pages(backend, query, pages=2)
    assert cache.entries.hits == 1
    fresh = backend.run_search("patent", SearchQuery(**{**query.__dict__, "page": 2}))
    assert (pages[1].total, pages[1].ids, pages[1].facets) == (fresh.total, fresh.ids, fresh.facets)


# ---------------------------------------------------------------------------- the app: a change through its service


@pytest.fixture(params=[(db_, engine) for db_ in DATABASES for engine in ENGINES],
                ids=lambda p: f"{p[0]}-{getattr(p[1], 'values', [p[1]])[0]}")
def searchapp(request, make_app, tmp_path):
    database, engine = request.param
    engine = getattr(engine, "values", [engine])[0]
    if engine == "elasticsearch":
        request.applymarker(pytest.mark.elasticsearch)
    if database == "postgresql" and not PG_URL_2:
        pytest.skip("MARKET_TEST_POSTGRESQL_URL_2 is not set")
    with app_search_settings(engine, tmp_path) as settings:
        app = make_app(url=PG_URL if database == "postgresql" else None, **settings)
        with app.app_context():
            staff = Factory(db.session).user(Role.STAFF)
            report = import_bytes(db.session, None, ("\n".join(ROWS) + "\n").encode(), "p.jsonl", NOW)
            assert report.created == len(ROWS), report.rejected
            db.session.commit()
            indexing.drain(db.session, indexing.get_backend(), now=NOW)
            db.session.commit()
            app.staff_id = staff.id
        yield app


def _page(page: int) -> finder.Hits:
    params = finder.PatentSearch(q="电池", sort="date", page=page, per_page=5)
    return finder.run(db.session, indexing.get_backend(), finder.build_query(params, NOW.date()), catch_up=True)


def test_a_change_through_the_service_shows_on_page_two_and_in_the_facets(searchapp):
    with searchapp.app_context():
        backend = indexing.get_backend()
        page1 = _page(1)
        cache = backend.result_cache
        hits = cache.entries.hits
        page2 = _page(2)
        assert cache.entries.hits == hits + 1, "page 2 took its facets from the cache"
        assert page1.total == page2.total == 12 and dict(page2.facets["ipc_subclass"]) == {"H01M": 12}
        # the newest patent (page 1) is corrected by staff: filed earlier (it moves to page 2) and classed in A01B
        asset = page1.items[0]
        data = service.AssetData(kind=asset.kind, title=asset.title, application_number=asset.application_number,
                                 publication_number=asset.publication_number, ipc_codes=["A01B1/00"],
                                 filing_date=date(2016, 6, 1), legal_status=asset.legal_status)
        staff = db.session.get(User, searchapp.staff_id)
        service.update_asset(db.session, staff, asset.id, data, NOW)
        db.session.commit()
        moved = asset.id
        again = _page(2)  # catches up (the outbox row the session hook wrote), then searches
        assert again.total == 12
        assert dict(again.facets["ipc_subclass"]) == {"H01M": 11, "A01B": 1}
        assert moved in [a.id for a in again.items] and moved not in [a.id for a in page2.items]
        assert [a.id for a in again.items] == [a.id for a in _uncached_page(backend, 2).items]
        assert db.session.get(IpAsset, moved).filing_date == date(2016, 6, 1)


def _uncached_page(backend, page: int) -> finder.Hits:
    cache = backend.result_cache
    backend.result_cache = ResultCache(size=0)
    try:
        return _page(page)
    finally:
        backend.result_cache = cache
