"""The benchmarks' quick modes still run (so they cannot rot). No timing assertions: CI machines vary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ES_URL = os.environ.get("MARKET_TEST_ELASTICSEARCH_URL", "").strip()
REQUIRE_SERVICES = os.environ.get("MARKET_TEST_REQUIRE_SERVICES") == "1"


def run_quick(script: str, *extra: str) -> dict:
    env = {**os.environ, "MARKET_BENCH_ELASTICSEARCH_URL": ""}
    env.pop("MARKET_ELASTICSEARCH_URL", None)
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--quick", "--json", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_gen_patents_is_labelled_and_deterministic(tmp_path):
    out = tmp_path / "gen.csv"
    for target in (out, tmp_path / "again.csv"):
        subprocess.run([sys.executable, str(ROOT / "bench" / "gen_patents.py"), "-n", "50", "--seed", "7",
                        "-o", str(target)], check=True, timeout=120)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# generated: true")
    assert lines[2].startswith("GEN0000001,")
    assert len(lines) == 52
    assert out.read_bytes() == (tmp_path / "again.csv").read_bytes()


def check_common(data: dict) -> None:
    assert data["data"]["generated"] is True and data["quick"] is True
    assert {"machine", "queries", "backends", "api", "targets", "memory_method", "maxrss_kib_end"} <= set(data)
    assert len(data["queries"]) >= 30
    assert data["engines"] == ["tantivy"]
    for name in data["engines"]:
        emb = data["backends"][name]
        assert {"build_s", "build_docs_per_s", "query", "query_api_facets", "query_common",
                "maxrss_kib_after_build", "server_rss"} <= set(emb)
        for key in ("query", "query_api_facets", "query_common"):
            assert {"p50_ms", "p95_ms", "samples"} <= set(emb[key])
        assert emb["count"] == data["data"]["n"] == emb["server_rss"]["count"]
        assert emb["server_rss"]["after_queries"]["VmHWM_kib"] > 0
    assert {"raw_bulk_docs_per_s", "rebuild_over_raw_bulk"} <= set(data["backends"]["tantivy"])
    assert {"tantivy_rebuild_ge_0.8_raw_bulk", "tantivy_server_rss_le_400_mb"} <= set(data["targets"])
    assert data["api"]["status"] in ("ok", "missing")
    if data["api"]["status"] == "ok":
        assert data["api"]["queries_identical_to_api_facets_set"] is True
        for name in data["engines"]:
            assert {"api", "backend", "api_p50_over_backend_p50"} <= set(data["api"][name])


def test_search_bench_quick_embedded():
    data = run_quick("search_bench.py", "--es-url", "none")
    check_common(data)
    assert "skipped" in data["backends"]["elasticsearch"]


def test_search_bench_quick_elasticsearch():
    if not ES_URL:
        if REQUIRE_SERVICES:
            pytest.fail("MARKET_TEST_ELASTICSEARCH_URL is not set and MARKET_TEST_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip("MARKET_TEST_ELASTICSEARCH_URL is not set")
    data = run_quick("search_bench.py", "--es-url", ES_URL)
    check_common(data)
    es = data["backends"]["elasticsearch"]
    assert {"build_docs_per_s", "raw_bulk_docs_per_s", "rebuild_over_raw_bulk", "query"} <= set(es)
    assert es["count"] == data["data"]["n"]
    assert data["hit_counts_equal"] is True
    assert all(data[f"facets_equal_{name}"] is True for name in ("real", "api_facets", "common"))
    assert {"tantivy_p95_le_0.5_es_p95_api_facets", "tantivy_p95_le_0.5_es_p95_common",
            "elasticsearch_rebuild_ge_0.8_raw_bulk"} <= set(data["targets"])
    if data["api"]["status"] == "ok":
        assert "api_p50_over_backend_p50" in data["api"]["elasticsearch"]
