"""Both backends give the same top-10 on the real data (9,740 patent titles), for 40 queries.

Why this is well defined: both engines see the same tokens (``search.analysis``), require every query token,
score with BM25 (k1=1.2, b=0.75) over the same single text field, and break score ties by id ascending.
For a one-token query, or when every query token occurs once in each hit (nearly always for short titles),
the IDF part is the same for all hits, so both rank by title length alone and agree exactly. They can differ
only when a hit repeats a token and the engines' statistics differ (deleted documents still counted, average
lengths), when a title is 40+ tokens long (lengths are stored lossily), or by float32 rounding. So the rule: the
top-10 *sets* must be equal, except that a document in only one of them is tolerated when it ties with that
list's 10th document on the features both scores derive from (the term frequency of each query token and the
title length) — an explained tie at the 10th place. Totals and facet
counts must be equal outright.
"""

from __future__ import annotations

from collections import Counter

import pytest
from searchdata import REAL_SCHEMA

from search import SearchQuery
from search.analysis import tokens, unique

QUERIES = (
    "电池 质押 装置 锂电池 锂离子电池 方法 系统 一种 控制 检测 图像 数据处理 电路 芯片 机器人 传感器 新能源汽车 "
    "充电 储能 光伏 半导体 显示面板 通信 无人机 医疗 药物 复合材料 制备方法 催化剂 混凝土 轴承 发动机 电机 清洗 "
    "散热 神经网络 区块链 深度学习 检测装置 电动汽车"
).split() + ["锂电池 储能", "LED 灯", "5G 通信"]

pytestmark = pytest.mark.elasticsearch


def features(title: str, query_tokens: list[str]) -> tuple[tuple[int, ...], int]:
    """What a BM25 score of ``title`` depends on: each query token's frequency and the title's length."""
    counts = Counter(tokens(title))
    return tuple(counts[t] for t in query_tokens), sum(counts.values())


def test_query_list_is_long_enough():
    assert len(QUERIES) >= 30
    assert list(REAL_SCHEMA.text_fields) == ["title"]  # one field: the length is the title's


@pytest.fixture
def real_local(real_tantivy):
    """The embedded engine (tantivy), compared with Elasticsearch."""
    return real_tantivy


@pytest.mark.parametrize("q", QUERIES)
def test_same_top10_on_real_data(real_local, real_elastic, real_patents, q):
    titles = {d["id"]: d["title"] for d in real_patents}
    query_tokens = unique(tokens(q))
    a = real_local.search("patent", SearchQuery(q=q, per_page=10))
    b = real_elastic.search("patent", SearchQuery(q=q, per_page=10))
    assert a.total == b.total
    for mine, other in ((a.ids, b.ids), (b.ids, a.ids)):
        for doc_id in set(mine) - set(other):
            tenth = other[-1]
            assert features(titles[doc_id], query_tokens) == features(titles[tenth], query_tokens), (
                f"{q!r}: {doc_id} ranks in one top-10 only and does not tie with {tenth}"
            )


@pytest.mark.parametrize("q", ["装置", "电池", ""])
def test_same_filtered_totals_and_facets_on_real_data(real_local, real_elastic, q):
    query = SearchQuery(
        q=q, filters={"kind": ["A", "U"], "ipc_subclass": ["G06F", "H01M", "B01D"]}, facets=["kind", "ipc_subclass"]
    )
    a = real_local.search("patent", query)
    b = real_elastic.search("patent", query)
    assert (a.total, a.facets, a.ids) == (b.total, b.facets, b.ids)
