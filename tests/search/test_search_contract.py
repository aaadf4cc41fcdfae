"""One contract, every backend (cachelib style): ``TestEmbedded`` always, ``TestElasticsearch`` with a server.

Expected values are computed here from the fixture documents, not copied from a backend's answer.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from searchdata import DOCS, REAL_SCHEMA, SCHEMA

from search import Schema, SearchBackend, SearchQuery, UnknownIndex
from tests.conftest import in_threads


def ids_where(pred) -> set[str]:
    return {d["id"] for d in DOCS if pred(d)}


def text_of(doc: dict[str, Any]) -> str:
    return f"{doc['title']} {doc['abstract']}".lower()


class BackendContract:
    """Every test here runs against each backend subclass's ``backend`` fixture."""

    @pytest.fixture
    def backend(self) -> SearchBackend:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def loaded(self, backend: SearchBackend) -> SearchBackend:
        backend.ensure_index(SCHEMA)
        assert backend.index("patent", DOCS) == len(DOCS)
        backend.refresh("patent")
        return backend

    def find(self, backend: SearchBackend, **kw: Any) -> list[str]:
        return backend.search("patent", SearchQuery(per_page=100, **kw)).ids

    def test_ensure_index_is_idempotent_and_recreates_on_schema_change(self, backend):
        assert backend.ensure_index(SCHEMA) is True
        assert backend.ensure_index(SCHEMA) is False
        backend.index("patent", DOCS[:2])
        backend.refresh("patent")
        changed = Schema("patent", {"title": 1.0}, ["kind"])
        assert backend.ensure_index(changed) is True
        assert backend.count("patent") == 0

    def test_unknown_index(self, backend):
        with pytest.raises(UnknownIndex):
            backend.search("nope", SearchQuery())

    def test_round_trip(self, loaded):
        assert loaded.count("patent") == len(DOCS)
        assert self.find(loaded, q="正极") == ["p01"]
        assert self.find(loaded) == sorted(d["id"] for d in DOCS)  # no query: everything, by id

    def test_upsert_replaces(self, loaded):
        loaded.index("patent", [{**DOCS[0], "title": "更换后的标题", "kind": "B"}])
        loaded.refresh("patent")
        assert loaded.count("patent") == len(DOCS)
        assert self.find(loaded, q="正极") == []
        assert self.find(loaded, q="更换") == ["p01"]
        assert "p01" in self.find(loaded, filters={"kind": ["B"]})
        assert "p01" not in self.find(loaded, filters={"kind": ["A"]})

    def test_delete(self, loaded):
        loaded.delete("patent", ["p01", "does-not-exist"])
        loaded.refresh("patent")
        assert loaded.count("patent") == len(DOCS) - 1
        assert self.find(loaded, q="正极") == []

    @pytest.mark.parametrize("q", ["电池", "质押", "装置", "锂离子电池", "battery"])
    def test_queries_match_every_token(self, loaded, q):
        assert set(self.find(loaded, q=q)) == ids_where(lambda d: q in text_of(d))

    def test_mixed_chinese_english_needs_all_tokens(self, loaded):
        assert self.find(loaded, q="锂电池 battery") == ["p02"]
        assert set(self.find(loaded, q="Li-ion")) == {"p01"}
        assert self.find(loaded, q="ＬＩＦＥＰＯ４") == ["p01"]  # full-width folds, <sub> stripped

    def test_single_character_matches_only_single_character_runs(self, loaded):
        assert self.find(loaded, q="电") == []
        assert self.find(loaded, q="一种电") == ["p10"]

    def test_relevance_prefers_boosted_field_and_breaks_ties_by_id(self, loaded):
        # p03 has 风险评估 in the title (boost 2) and the abstract; nothing else has it.
        assert self.find(loaded, q="风险") == ["p03"]
        # Identical titles score the same and come back in id order.
        loaded.index("patent", [{"id": "z2", "title": "电池"}, {"id": "z1", "title": "电池"}])
        loaded.refresh("patent")
        ids = self.find(loaded, q="电池")
        assert ids[:2] == ["z1", "z2"]

    def test_filters_or_within_and_across(self, loaded):
        assert set(self.find(loaded, filters={"kind": ["A", "U"]})) == ids_where(lambda d: d["kind"] in "AU")
        expected = ids_where(lambda d: d["kind"] == "A" and {"H01M", "G06Q"} & set(d["ipc_subclass"]))
        assert set(self.find(loaded, filters={"kind": ["A"], "ipc_subclass": ["H01M", "G06Q"]})) == expected
        assert set(self.find(loaded, q="电池", filters={"kind": ["U"]})) == {"p04"}
        assert set(self.find(loaded, filters={"kind": []})) == ids_where(lambda d: True)

    def test_ranges(self, loaded):
        def val(lo, hi):
            return ids_where(lambda d: d["valuation"] is not None and lo <= d["valuation"] <= hi)

        assert set(self.find(loaded, ranges={"valuation": (300_000, 1_200_000)})) == val(300_000, 1_200_000)
        assert set(self.find(loaded, ranges={"valuation": (None, 150_000)})) == val(0, 150_000)
        assert set(self.find(loaded, ranges={"valuation": (800_000, None)})) == val(800_000, 10**12)
        # A bare date as upper bound includes that whole day.
        found = self.find(loaded, ranges={"filed_on": (date(2021, 1, 1), "2021-12-31")})
        assert set(found) == ids_where(
            lambda d: d["filed_on"] and date(2021, 1, 1) <= d["filed_on"] <= date(2021, 12, 31)
        )

    def test_facets_count_over_the_filtered_set_and_are_disjunctive(self, loaded):
        res = loaded.search(
            "patent",
            SearchQuery(q="装置", filters={"kind": ["U"]}, facets=["kind", "ipc_subclass"], per_page=0),
        )
        hits = [d for d in DOCS if "装置" in text_of(d)]
        kind_counts = Counter(d["kind"] for d in hits)  # own filter ignored: disjunctive
        ipc_counts = Counter(c for d in hits if d["kind"] == "U" for c in d["ipc_subclass"])

        def ordered(counter: Counter) -> list[tuple[str, int]]:
            return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))

        assert res.total == sum(1 for d in hits if d["kind"] == "U")
        assert res.ids == []
        assert res.facets == {"kind": ordered(kind_counts), "ipc_subclass": ordered(ipc_counts)}
        small = loaded.search("patent", SearchQuery(facets=["ipc_subclass"], facet_size=2, per_page=0))
        all_ipc = Counter(c for d in DOCS for c in d["ipc_subclass"])
        assert small.facets["ipc_subclass"] == ordered(all_ipc)[:2]

    @staticmethod
    def age_buckets(today: date) -> tuple[str, list[tuple[str, Any, Any]]]:
        """Filing-date buckets relative to ``today`` (as remaining-life bands are built from the expiry date)."""
        year = date(today.year - 1, today.month, today.day)
        return ("filed_on", [("new", year, today), ("old", None, date.fromordinal(year.toordinal() - 1))])

    @pytest.mark.parametrize("today", [date(2022, 1, 1), date(2023, 1, 1)])
    def test_range_facets_are_computed_at_query_time(self, loaded, today):
        buckets = self.age_buckets(today)
        year = buckets[1][0][1]
        new = {d["id"] for d in DOCS if d.get("filed_on") and year <= d["filed_on"] <= today}
        old = {d["id"] for d in DOCS if d.get("filed_on") and d["filed_on"] < year}
        res = loaded.search("patent", SearchQuery(range_facets={"age": buckets}, per_page=100))
        assert res.facets["age"] == [(k, n) for k, n in (("new", len(new)), ("old", len(old))) if n]
        # a bucket as a filter (OR of buckets), its own facet disjunctive, other facets over the filtered set
        res = loaded.search("patent", SearchQuery(range_facets={"age": buckets}, filters={"age": ["new"]},
                                                  facets=["kind"], per_page=100))
        assert set(res.ids) == new and res.total == len(new)
        assert res.facets["age"] == [(k, n) for k, n in (("new", len(new)), ("old", len(old))) if n]
        kinds = Counter(d["kind"] for d in DOCS if d["id"] in new)
        assert res.facets["kind"] == sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        both = loaded.search("patent", SearchQuery(range_facets={"age": buckets}, filters={"age": ["new", "old"]}))
        assert both.total == len(new | old)
        # another filter narrows the range facet's counts
        res = loaded.search("patent", SearchQuery(q="装置", range_facets={"age": buckets}, filters={"kind": ["U"]}))
        hits = {d["id"] for d in DOCS if "装置" in text_of(d) and d["kind"] == "U"}
        expected = [("new", len(hits & new)), ("old", len(hits & old))]
        assert res.facets["age"] == [(k, n) for k, n in expected if n]

    def test_facets_follow_writes(self, loaded):
        query = SearchQuery(q="装置", facets=["kind", "ipc_subclass"], per_page=0)
        loaded.search("patent", query)  # facet state warmed up before the writes
        loaded.index("patent", [{**DOCS[0], "id": "new-1", "title": "一种新的装置", "kind": "B",
                                 "ipc_subclass": ["Z99Z"]}])
        loaded.delete("patent", [d["id"] for d in DOCS if "装置" in text_of(d) and d["kind"] == "U"][:1])
        loaded.refresh("patent")
        docs = [d for d in DOCS if d["id"] != next(
            d["id"] for d in DOCS if "装置" in text_of(d) and d["kind"] == "U")]
        docs.append({**DOCS[0], "id": "new-1", "title": "一种新的装置", "kind": "B", "ipc_subclass": ["Z99Z"]})
        hits = [d for d in docs if "装置" in text_of(d)]
        res = loaded.search("patent", query)
        assert res.total == len(hits)
        assert res.facets["kind"] == sorted(Counter(d["kind"] for d in hits).items(), key=lambda kv: (-kv[1], kv[0]))
        subclasses = Counter(c for d in hits for c in d["ipc_subclass"])
        assert res.facets["ipc_subclass"] == sorted(subclasses.items(), key=lambda kv: (-kv[1], kv[0]))

    def test_sort_by_number_missing_last_ties_by_id(self, loaded):
        with_value = [d for d in DOCS if d["valuation"] is not None]
        missing = sorted(d["id"] for d in DOCS if d["valuation"] is None)
        desc = [d["id"] for d in sorted(with_value, key=lambda d: (-d["valuation"], d["id"]))]
        asc = [d["id"] for d in sorted(with_value, key=lambda d: (d["valuation"], d["id"]))]
        assert self.find(loaded, sort="-valuation") == desc + missing
        assert self.find(loaded, sort="valuation") == asc + missing
        assert self.find(loaded, sort="-filed_on")[0] == "p10"

    def test_paging(self, loaded):
        everything = self.find(loaded, sort="-valuation")
        pages = [loaded.search("patent", SearchQuery(sort="-valuation", page=p, per_page=3)) for p in (1, 2, 3, 4)]
        assert {p.total for p in pages} == {len(DOCS)}
        assert [i for p in pages for i in p.ids] == everything
        assert loaded.search("patent", SearchQuery(page=5, per_page=3)).ids == []

    def test_highlight_escapes_markup(self, loaded):
        res = loaded.search("patent", SearchQuery(q="数据", highlight_fields=["title", "abstract"]))
        assert res.ids == ["p05"]
        assert res.highlights == {"p05": {"title": "&lt;script&gt;alert(1)&lt;/script&gt; <mark>数据</mark>处理装置"}}
        res = loaded.search("patent", SearchQuery(q="锂离子电池 battery", highlight_fields=["title", "abstract"]))
        assert res.highlights["p01"] == {
            "title": "一种<mark>锂离子电池</mark>正极材料及其制备方法",
            "abstract": "Li-ion <mark>battery</mark> cathode LiFePO4",
        }

    def test_invalid_query_fields_are_rejected(self, loaded):
        for bad in (SearchQuery(filters={"title": ["x"]}), SearchQuery(sort="kind"), SearchQuery(facets=["valuation"])):
            with pytest.raises(ValueError):
                loaded.search("patent", bad)

    def test_clear(self, loaded):
        loaded.clear("patent")
        loaded.refresh("patent")
        assert loaded.count("patent") == 0
        assert loaded.search("patent", SearchQuery(q="电池")).total == 0
        loaded.index("patent", DOCS[:1])
        loaded.refresh("patent")
        assert self.find(loaded, q="正极") == ["p01"]

    def test_rebuild_replaces_everything(self, loaded):
        assert loaded.rebuild(SCHEMA, iter(DOCS[5:])) == len(DOCS) - 5
        assert loaded.count("patent") == len(DOCS) - 5
        assert self.find(loaded, q="正极") == []
        assert set(self.find(loaded, q="装置")) == ids_where(lambda d: d["id"] >= "p06" and "装置" in text_of(d))

    def test_health(self, backend):
        assert backend.health()["ok"] is True

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("电池 OR 装置", ids_where(lambda d: "电池" in text_of(d) or "装置" in text_of(d))),
            ("电池 | 装置", ids_where(lambda d: "电池" in text_of(d) or "装置" in text_of(d))),
            ("电池 -装置", ids_where(lambda d: "电池" in text_of(d) and "装置" not in text_of(d))),
            ("电池 NOT 质押", ids_where(lambda d: "电池" in text_of(d) and "质押" not in text_of(d))),
            ("-电池", ids_where(lambda d: "电池" not in text_of(d))),
            ("NOT 装置 NOT 电池", ids_where(lambda d: "电池" not in text_of(d) and "装置" not in text_of(d))),
            ("battery housing", {"p08"}), ('"battery housing"', set()), ('"battery pack"', {"p08"}),
            ('"锂电池" OR "动力电池"', {"p02", "p07"}), ("锂电池 AND battery", {"p02"}),
            ("(电池", ids_where(lambda d: "电池" in text_of(d))),  # a stray bracket is just punctuation
        ],
    )
    def test_operators(self, loaded, q, expected):
        """Words ANDed, OR, NOT and minus, quoted phrases: the same documents on every backend."""
        assert set(self.find(loaded, q=q)) == expected

    def test_operators_with_filters_and_facets(self, loaded):
        result = loaded.search("patent", SearchQuery(q="-电池", filters={"kind": ["U"]}, facets=["kind"]))
        expected = ids_where(lambda d: "电池" not in text_of(d) and d["kind"] == "U")
        assert set(result.ids) == expected and result.total == len(expected)
        assert dict(result.facets["kind"]) == dict(Counter(d["kind"] for d in DOCS if "电池" not in text_of(d)))

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("CN118193476B", ["a"]), ("cn118193476b", ["a"]),  # publication number
            ("CN201710106452.1", ["a"]), ("201710106452.1", ["a"]), ("2017101064521", ["a"]),  # application number
            ("201710106452", ["a"]), ("ZL201710106452.1", ["a"]), ("CN 201710106452.1", []),
            ("97123456.6", ["c"]), ("CN971234566", ["c"]),  # the 1985–2003 form
            ("H01M", ["a"]), ("H01M10", ["a"]), ("H01M10/052", ["a"]), ("H01M 10/052", ["a"]),  # IPC levels
            ("h01m 10 / 0525", ["a"]), ("H01M10/00", ["a"]), ("H01", ["a", "b"]), ("G06T", ["c"]),
            ("H01M 电池", ["a"]), ("H01L 电池", ["b"]), ("H01M10/056", []),
            ("重庆长安汽车股份有限公司", ["b"]),  # an applicant's exact name
        ],
    )
    def test_patent_numbers_and_codes_in_every_form(self, backend, q, expected):
        schema = Schema("codes", {"title": 3.0, "applicants": 1.0, "numbers": 4.0})
        backend.ensure_index(schema)
        backend.index("codes", [
            {"id": "a", "title": "一种锂离子电池", "applicants": "重庆长安新能源汽车科技有限公司",
             "numbers": "CN118193476B CN201710106452.1 H H01 H01M H01M10 H01M10/00 H01M10/05 H01M10/052 H01M10/0525"},
            {"id": "b", "title": "太阳能电池组件", "applicants": "重庆长安汽车股份有限公司 ; 重庆大学",
             "numbers": "CN114081026A CN202110000001.5 H H01 H01L H01L31 H01L31/00 H01L31/04"},
            {"id": "c", "title": "图像识别装置", "applicants": "重庆大学",
             "numbers": "CN1234567A 97123456.6 G G06 G06T G06T7 G06T7/00"},
        ])
        backend.refresh("codes")
        assert sorted(backend.search("codes", SearchQuery(q=q)).ids) == expected

    def test_stamp_is_written_by_rebuild_and_dropped_by_a_schema_change(self, backend):
        assert backend.stamp("patent") is None  # no index yet
        backend.ensure_index(SCHEMA)
        assert backend.stamp("patent") is None  # created empty: built from nothing known
        stamp = {"database": "db-1", "version": "1:abc"}
        backend.rebuild(SCHEMA, iter(DOCS), stamp=stamp)
        assert backend.stamp("patent") == stamp
        assert backend.ensure_index(SCHEMA) is False and backend.stamp("patent") == stamp
        backend.index("patent", DOCS[:1])
        backend.refresh("patent")
        assert backend.stamp("patent") == stamp  # ordinary writes keep it
        backend.set_stamp("patent", {"database": "db-2", "version": "1:abc"})
        assert backend.stamp("patent") == {"database": "db-2", "version": "1:abc"}
        backend.set_stamp("patent", None)
        assert backend.stamp("patent") is None
        backend.rebuild(SCHEMA, iter(DOCS), stamp=stamp)
        backend.ensure_index(Schema("patent", {"title": 1.0}, ["kind"]))
        assert backend.stamp("patent") is None  # a changed schema: a new, empty index of unknown origin

    def test_ties_beyond_the_page_are_ordered_by_id(self, loaded):
        """Many equal scores across several segments: every page cut follows (score, id), whatever the insert order."""
        twins = [{"id": f"w{n:03d}", "title": "电池"} for n in range(60)]
        for chunk in (twins[40:], twins[:20], twins[20:40]):  # three commits: three segments, ids out of order
            loaded.index("patent", chunk)
            loaded.refresh("patent")
        pages = [loaded.search("patent", SearchQuery(q="电池", page=p, per_page=7)).ids for p in range(1, 11)]
        flat = [i for page in pages for i in page]
        assert flat[:60] == [t["id"] for t in twins]
        assert len(flat) == len(set(flat)) == loaded.search("patent", SearchQuery(q="电池", per_page=0)).total


class TestTantivy(BackendContract):
    @pytest.fixture
    def backend(self, tantivy_backend):
        return tantivy_backend

    def test_in_memory_and_threads(self):
        from search.fulltext import TantivyBackend

        backend = TantivyBackend(":memory:")
        backend.ensure_index(SCHEMA)
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(20):
                    backend.index("patent", [{**DOCS[i % len(DOCS)], "id": f"t{n}-{i}"}])
                    backend.search("patent", SearchQuery(q="装置", facets=["kind"]))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        in_threads(work, [(n,) for n in range(4)])
        assert errors == []
        assert backend.count("patent") == 80
        backend.close()

    def test_facets_see_writes_of_another_connection(self, loaded):
        from search.fulltext import TantivyBackend

        query = SearchQuery(facets=["kind"], per_page=0)
        before = dict(loaded.search("patent", query).facets["kind"])
        other = TantivyBackend(loaded.path)  # e.g. `market search sync` in another process
        other.index("patent", [{**DOCS[0], "id": "x-1", "kind": "B"}])
        other.close()
        after = dict(loaded.search("patent", query).facets["kind"])
        assert after == {**before, "B": before.get("B", 0) + 1}
        assert self.find(loaded, q="正极") == ["p01", "x-1"]

    def test_rebuild_failing_midway_keeps_the_old_index(self, loaded):
        def docs():
            yield from (dict(d, id=f"r{i}") for i, d in enumerate(DOCS * 150))
            raise RuntimeError("database went away")

        with pytest.raises(RuntimeError, match="went away"):
            loaded.rebuild(SCHEMA, docs(), stamp={"database": "db-1"})
        assert loaded.count("patent") == len(DOCS)
        assert loaded.stamp("patent") is None
        assert len(list((loaded.root / "patent").glob("g-*"))) == 1

    def test_overlapping_and_empty_range_buckets(self, loaded):
        """Buckets a single range aggregation cannot take (overlapping, empty) are counted one by one."""
        buckets = ("valuation", [("a", 0, 1_000_000), ("b", 500_000, None), ("c", 10, 10), ("d", 5, 1)])
        res = loaded.search("patent", SearchQuery(range_facets={"v": buckets}, per_page=0))
        values = [d["valuation"] for d in DOCS if d["valuation"] is not None]
        expected = [("a", sum(v <= 1_000_000 for v in values)), ("b", sum(v >= 500_000 for v in values)),
                    ("c", values.count(10))]
        assert res.facets["v"] == expected

    def test_a_rebuild_by_another_backend_is_seen(self, loaded):
        from search.fulltext import TantivyBackend

        other = TantivyBackend(loaded.path)
        other.rebuild(SCHEMA, DOCS[:3], stamp={"database": "db-2"})
        assert loaded.count("patent") == 3
        assert loaded.stamp("patent") == {"database": "db-2"}
        assert set(self.find(loaded)) == {"p01", "p02", "p03"}
        other.close()

@pytest.mark.elasticsearch
class TestElasticsearch(BackendContract):
    @pytest.fixture
    def backend(self, elastic_backend):
        return elastic_backend

    def test_rebuild_failing_midway_keeps_the_old_index(self, loaded):
        def docs():
            yield from (dict(d, id=f"r{i}") for i, d in enumerate(DOCS * 150))  # > 2 chunks of 500
            raise RuntimeError("database went away")

        with pytest.raises(RuntimeError, match="went away"):
            loaded.rebuild(SCHEMA, docs())
        assert loaded.count("patent") == len(DOCS)
        assert len(loaded.client.indices.get(index=f"{loaded.prefix}patent*").body) == 1

    def test_rebuild_swaps_the_alias_and_drops_the_old_index(self, loaded):
        alias = loaded.alias("patent")
        before = set(loaded.client.indices.get_alias(name=alias).body)
        loaded.rebuild(SCHEMA, DOCS[:3])
        after = set(loaded.client.indices.get_alias(name=alias).body)
        assert len(before) == len(after) == 1 and before != after
        assert not loaded.client.indices.exists(index=before.pop())


class RealDataContract:
    """Two-character queries on the 9,740 real titles: exact totals, counted here by substring."""

    @pytest.mark.parametrize("q", ["电池", "质押", "装置", "锂电池", "锂离子电池"])
    def test_real_titles(self, real, real_patents, q):
        expected = {d["id"] for d in real_patents if q in d["title"]}
        res = real.search("patent", SearchQuery(q=q, per_page=1000))
        assert res.total == len(expected) > 0
        assert set(res.ids) <= expected and len(res.ids) == min(1000, len(expected))

    def test_real_count_and_facets(self, real, real_patents):
        assert real.count("patent") == len(real_patents) == 9740
        res = real.search("patent", SearchQuery(facets=["kind"], per_page=0))
        counts = Counter(d["kind"] for d in real_patents)
        assert res.facets["kind"] == sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


class TestRealTantivy(RealDataContract):
    @pytest.fixture
    def real(self, real_tantivy):
        return real_tantivy


@pytest.mark.elasticsearch
class TestRealElasticsearch(RealDataContract):
    @pytest.fixture
    def real(self, real_elastic):
        return real_elastic


def test_schema_of_real_index_is_title_only():
    assert list(REAL_SCHEMA.text_fields) == ["title"]
