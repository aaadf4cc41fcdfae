"""The shared analysis, highlighting and backend selection (no server needed)."""

from __future__ import annotations

import pytest

from search import Schema, SearchQuery, SearchUnavailable, make_backend
from search.analysis import analyzed, plain_text, spans, tokens
from search.elastic import ElasticsearchBackend
from search.fulltext import TantivyBackend
from search.highlight import highlight


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电池", ["电池"]),
        ("锂离子电池", ["锂离", "离子", "子电", "电池"]),
        ("电", ["电"]),
        ("锂电池 Li-ion battery", ["锂电", "电池", "li", "ion", "battery"]),
        ("LiFePO<sub>4</sub>正极", ["lifepo4", "正极"]),
        ("ＡＢＣ１２３ 全角", ["abc123", "全角"]),
        ("5G通信", ["5g", "通信"]),
        ("a_b 3.5V", ["a", "b", "3", "5v"]),
        ("<script>x</script>", ["script", "x", "script"]),
        ("&lt;b&gt; &amp;", ["b"]),
        ("", []),
        ("BATTERIES batteries battery", ["battery", "battery", "battery"]),
        ("means glass bus gps keys shoes LEDs 100s", ["mean", "glass", "bus", "gp", "key", "shoes", "led", "100s"]),
    ],
)
def test_tokens(text, expected):
    assert tokens(text) == expected
    assert analyzed(text) == " ".join(expected)
    assert analyzed(text).split() == tokens(text)


def test_spans_point_into_the_plain_text():
    text = "高<sub>2</sub>压 ＬＥＤ灯"
    plain = plain_text(text)
    assert [(t.text, plain[t.start : t.end]) for t in spans(text)] == [
        ("高", "高"),
        ("2", "2"),
        ("压", "压"),
        ("led", "ＬＥＤ"),
        ("灯", "灯"),
    ]


def test_highlight_merges_overlapping_bigrams_and_escapes():
    assert highlight("一种锂离子电池", ["锂离", "离子"]) == "一种<mark>锂离子</mark>电池"
    assert highlight("a < b & 电池", ["电池"]) == "a &lt; b &amp; <mark>电池</mark>"
    assert highlight("无关", ["电池"]) is None


def test_highlight_cuts_long_text_around_the_first_match():
    text = "甲" * 300 + "电池" + "乙" * 300
    snippet = highlight(text, ["电池"], fragment_size=40)
    assert snippet is not None and snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>电池</mark>" in snippet
    assert len(snippet.replace("<mark>", "").replace("</mark>", "")) == 42


def test_schema_rejects_bad_names_and_unknown_fields():
    with pytest.raises(ValueError):
        Schema("Bad Name", {"title": 1.0})
    with pytest.raises(ValueError):
        Schema("patent", {"title": 1.0}, ["title"])
    schema = Schema("patent", {"title": 1.0})
    with pytest.raises(ValueError):
        schema.normalise({"id": "1", "nope": 1})
    with pytest.raises(ValueError):
        schema.normalise({"title": "no id"})


def test_query_paging_limits():
    with pytest.raises(ValueError):
        SearchQuery(page=0)
    with pytest.raises(ValueError):
        SearchQuery(page=501, per_page=20)
    with pytest.raises(ValueError):
        SearchQuery(filters={"kind": "A"})


def test_make_backend(tmp_path):
    embedded = make_backend(None, str(tmp_path / "instance" / "s.sqlite3"))
    assert isinstance(embedded, TantivyBackend)
    assert embedded.path == str(tmp_path / "instance" / "s.tantivy")  # beside its database, a folder
    embedded.close()
    assert make_backend(None, ":memory:").memory
    elastic = make_backend("http://127.0.0.1:9200", "unused", index_prefix="x-")
    assert isinstance(elastic, ElasticsearchBackend) and elastic.prefix == "x-"
    with pytest.raises(ValueError):
        make_backend("ftp://nowhere", "unused")


def test_unreachable_elasticsearch_raises_search_unavailable():
    backend = ElasticsearchBackend("http://127.0.0.1:9", index_prefix="down-", request_timeout=2)
    with pytest.raises(SearchUnavailable):
        backend.ensure_index(Schema("patent", {"title": 1.0}))
    assert backend.health()["ok"] is False
    backend.close()


def _reference_spans(text: str) -> list[tuple[str, int, int]]:
    """The original per-cluster analysis (before the one-pass fast path), kept here to prove the tokens equal."""
    from search.analysis import _PIECE, _normalise, _stem

    plain = plain_text(text)
    norm, origin = _normalise(plain)

    def end_of(k: int) -> int:
        return next((origin[m] for m in range(k, len(origin)) if origin[m] != origin[k - 1]), len(plain))

    out = []
    for match in _PIECE.finditer(norm):
        start, end = match.span()
        if match.lastgroup == "word":
            out.append((_stem(norm[start:end]), origin[start], end_of(end)))
        elif end - start == 1:
            out.append((norm[start:end], origin[start], end_of(end)))
        else:
            out.extend((norm[k : k + 2], origin[k], end_of(k + 2)) for k in range(start, end - 1))
    return out


TRICKY = [
    "ＡＢＣ１２３ 全角", "ﬁle ﬂow ㈱公司 ⅷ ① ㎏", "café cafe\u0301 Ǆ ß ΣΑΣ İstanbul", "한국어 텍스트 \u1100\u1161",
    "𝐀𝐁𝐂 𠀀𠀁 \U0002a700文字", "x\u0301\u0302y 电\u0301池", "Ⅻ号 ½ ™ ℃ ＋－", "tab\tnew\nline", "",
]


@pytest.mark.parametrize("text", TRICKY)
def test_fast_analysis_equals_the_reference(text):
    assert [(t.text, t.start, t.end) for t in spans(text)] == _reference_spans(text)
    assert tokens(text) == [t for t, _s, _e in _reference_spans(text)]


def test_fast_analysis_equals_the_reference_on_every_real_title():
    import csv

    from searchdata import PATENT_CSV

    if not PATENT_CSV.exists():
        pytest.skip("real data missing")
    with PATENT_CSV.open(encoding="utf-8", newline="") as fh:
        titles = [row["title"] for row in csv.DictReader(fh)]
    assert len(titles) > 9000
    for title in titles:
        assert [(t.text, t.start, t.end) for t in spans(title)] == _reference_spans(title), title
