"""The embedded tantivy index shared by several processes: readers in every process, one writer at a time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from searchdata import DOCS, SCHEMA

from search import SearchQuery, SearchUnavailable
from search.fulltext import TantivyBackend

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys
    sys.path[:0] = [{root!r}, {tests!r}]
    from searchdata import DOCS
    from search import SearchQuery
    from search.fulltext import TantivyBackend

    backend = TantivyBackend({path!r}, lock_timeout=60)
    tag = sys.argv[1]
    for i in range(25):
        backend.index("patent", [{{**DOCS[i % len(DOCS)], "id": f"{{tag}}-{{i:02d}}", "kind": tag}}])
        backend.search("patent", SearchQuery(q="装置", facets=["kind"]))
    print(backend.count("patent"))
""")


def test_two_processes_write_and_read_one_index(tmp_path):
    path = str(tmp_path / "shared.tantivy")
    mine = TantivyBackend(path)
    mine.rebuild(SCHEMA, DOCS, stamp={"database": "db-1"})
    before = mine.search("patent", SearchQuery(q="装置", facets=["kind"], per_page=0))
    script = WRITER.format(root=str(ROOT), tests=str(ROOT / "tests" / "search"), path=path)
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for tag in ("P", "Q")]
    # this process reads while the two others write, one at a time
    while any(p.poll() is None for p in procs):
        res = mine.search("patent", SearchQuery(q="装置", facets=["kind"], per_page=100))
        assert res.total == len(res.ids) >= before.total
    for p in procs:
        out, err = p.communicate()
        assert p.returncode == 0, err
    assert mine.count("patent") == len(DOCS) + 50
    kinds = dict(mine.search("patent", SearchQuery(facets=["kind"], per_page=0)).facets["kind"])
    assert kinds["P"] == kinds["Q"] == 25
    assert mine.stamp("patent") == {"database": "db-1"}  # ordinary writes keep the identity
    other = TantivyBackend(path)
    assert other.search("patent", SearchQuery(filters={"kind": ["Q"]}, per_page=0)).total == 25
    mine.close()
    other.close()


def test_a_writer_waiting_too_long_is_told_the_engine_is_unavailable(tmp_path):
    path = str(tmp_path / "shared.tantivy")
    holder = TantivyBackend(path)
    holder.ensure_index(SCHEMA)
    waiting = TantivyBackend(path, lock_timeout=0.2)
    with holder._writing("patent"):  # e.g. a long rebuild in another process
        with pytest.raises(SearchUnavailable):
            waiting.index("patent", DOCS[:1])
        assert waiting.search("patent", SearchQuery()).total == 0  # readers never wait
    assert waiting.index("patent", DOCS[:1]) == 1
    assert holder.count("patent") == 1


def test_a_generation_gone_while_opening_is_reported_as_unavailable(tmp_path):
    """CURRENT naming a generation another process already removed: SearchUnavailable (retry later), not a crash."""
    path = str(tmp_path / "shared.tantivy")
    writer = TantivyBackend(path)
    writer.rebuild(SCHEMA, DOCS)
    (tmp_path / "shared.tantivy" / "patent" / "CURRENT").write_text("g-gone")
    reader = TantivyBackend(path)
    with pytest.raises(SearchUnavailable):
        reader.search("patent", SearchQuery(q="电池"))
    writer.rebuild(SCHEMA, DOCS[:2])  # the next swap repairs it
    assert reader.count("patent") == 2
