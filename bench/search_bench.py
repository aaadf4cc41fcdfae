"""Search benchmark: index build, faceted full-text query latency, memory, bulk throughput, API overhead.

Data: N GENERATED patents from ``bench/gen_patents.py`` (ids ``GEN…``), indexed with the app's real patent
schema (``market.ip.indexing.SCHEMA``). Backends run side by side in ONE process and one run, queries
interleaved (tantivy, Elasticsearch, tantivy, …), so machine load from other processes hits both alike:
compare the ratios, not the absolute figures, on a shared machine.

Measured:

* build: ``backend.rebuild(SCHEMA, docs)`` wall time for N docs already in memory (includes normalising and
  the shared text analysis, commit / refresh / alias swap), docs/s;
* raw bulk (Elasticsearch): ``elasticsearch.helpers.bulk`` (chunk 500, same as the backend) of the same
  ``_source`` bodies, prepared before the clock starts, into a plain index with the same mapping and settings
  (1 shard, 0 replicas, refresh off, then one refresh); rebuild and raw bulk alternate, ``rounds`` times;
* query: a faceted full-text query (``q`` from :data:`QUERIES`, facets kind + ipc_section + ipc_subclass,
  20 per page, highlights on title), one untimed warm-up pass, then ``reps`` timed passes over all queries;
  p50/p95 of ``time.perf_counter`` around ``backend.search``;
* memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (peak RSS of this process, KiB) at checkpoints; the
  Elasticsearch JVM is another process: its heap is read from ``_nodes/stats``. (tracemalloc is not used: it
  slows Python allocation and misses SQLite's C allocations.)
* pages (#13 §5): pages 1-5 of each ``api_facets`` query, every page computed by the engine alone against the
  facets and total computed once per query and data version (``bench/search_pages.py``);
* API: ``GET /api/v1/patents?q=…&per_page=20`` through the Flask test client against a private app whose
  database holds the same N patents and whose index was built by ``market.ip.indexing.reindex``; compared
  with ``backend.search`` of the very SearchQuery the API builds (``finder.build_query``), interleaved.

Engines: ``tantivy`` (search/fulltext.py) and ``elasticsearch`` (the SQLite FTS5 backend measured in
docs/benchmarks.md was removed after that run: it did not meet the numbers). Three
query sets run interleaved: ``real`` (the 36 queries, 3 facets, as above), ``api_facets`` (the same 36 queries as
the very SearchQuery ``GET /api/v1/patents`` builds: every API facet, the two range facets, highlights) and
``common`` (very common terms with every API facet). For tantivy the raw bulk load is tantivy's own writer
adding Documents prepared (normalised and analysed) before the clock starts, alternated with ``rebuild``.
Server RSS: a fresh process (``--rss-probe ENGINE:PATH``) that creates the app, opens the built index and runs the
``api_facets`` set twice, then reports VmHWM / VmRSS / RssAnon / RssFile from /proc/self/status.

Usage: ``python bench/search_bench.py [--quick] [--json] [-n N] [--es-url URL|none] [--engines tantivy]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from gen_patents import GenPatent, generate  # noqa: E402
from search_pages import pages_phase  # noqa: E402

from search import SearchQuery  # noqa: E402

# Real queries: two-character words, longer Chinese terms split into bigrams, Latin/digit and mixed ones.
QUERIES = [
    "电池", "装置", "传感器", "机器人", "光伏", "储能", "无人机", "混凝土", "污水处理", "新能源汽车",
    "人工智能", "区块链", "图像识别", "石墨烯", "芯片", "轴承", "电机", "阀门", "中药", "疫苗",
    "水泥", "农业", "温室", "散热", "锂电池", "数据处理", "智能家居", "5G", "LED", "LED路灯",
    "3D打印", "5G 基站", "PCB 电路板", "GPS 定位", "检测方法", "制备方法",
]
FACETS = ("kind", "ipc_section", "ipc_subclass")
# Very common terms (thousands to hundreds of thousands of hits), asked with every API facet.
COMMON = ["装置", "方法", "一种", "系统", "设备", "结构", "制备方法", "控制"]
EMBEDDED = ("tantivy",)
TODAY = date(2026, 1, 1)


# ------------------------------------------------------------------------------------------------ helpers


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def pct(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(samples)
    return s[max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))]


def summary(samples_s: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in samples_s]
    return {"p50_ms": round(pct(ms, 50), 3), "p95_ms": round(pct(ms, 95), 3), "mean_ms": round(statistics.mean(ms), 3),
            "max_ms": round(max(ms), 3), "samples": len(ms)}


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_total_gib": round(mem / 1024 / 1024, 1),
            "python": platform.python_version(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


def documents(patents: list[GenPatent]) -> list[dict]:
    """Index documents in the shape of ``DocBuilder.document`` (no owner, no abstract, no valuation)."""
    from market.ip import numbers
    from market.ip.importer import KIND_CODES
    from market.reference.choices import IPC_SECTION_ZH

    docs = []
    for p in patents:
        kind, status = KIND_CODES[p.kind_code]
        codes = p.ipc_subclasses
        docs.append({
            "id": p.id, "title": p.title, "abstract": None, "applicants": None,
            "ipc_titles": " ; ".join(dict.fromkeys(IPC_SECTION_ZH.get(c[:1], "") for c in codes)),
            "kind": kind.value, "legal_status": status.value, "pledge_state": "free",
            "ipc_section": sorted({c[:1] for c in codes}), "ipc_class": sorted({c[:3] for c in codes}),
            "ipc_subclass": sorted(set(codes)), "district": None, "industry": None, "owner": None,
            "pledgeable_kind": True, "frozen": False,
            "valuation": None, "filing_date": p.filing_date, "expiry_date": numbers.expiry_date(kind, p.filing_date),
        })
    return docs


def bench_query(q: str) -> SearchQuery:
    return SearchQuery(q=q, facets=FACETS, per_page=20, highlight_fields=("title",))


def es_heap(client) -> dict[str, Any]:
    try:
        nodes = client.nodes.stats(metric="jvm").body["nodes"]
        jvm = next(iter(nodes.values()))["jvm"]["mem"]
        return {"heap_used_mib": round(jvm["heap_used_in_bytes"] / 2**20, 1),
                "heap_max_mib": round(jvm["heap_max_in_bytes"] / 2**20, 1)}
    except Exception as exc:  # noqa: BLE001 - informative only
        return {"error": str(exc)[:200]}


# ------------------------------------------------------------------------------------------------ phases


def build_phase(backends: dict, docs: list[dict], rounds: int, out: dict) -> None:
    """Time rebuild on each backend; on Elasticsearch alternate with the raw bulk helper."""
    from market.ip.indexing import SCHEMA

    n = len(docs)
    for name, backend in backends.items():
        res = out["backends"][name]
        builds = []
        raws = []
        for _ in range(rounds):
            if name == "elasticsearch":
                raws.append(raw_bulk(backend, docs))
            elif name == "tantivy":
                raws.append(raw_tantivy(backend, docs))
            t0 = time.perf_counter()
            written = backend.rebuild(SCHEMA, docs)
            builds.append(time.perf_counter() - t0)
            assert written == n, (name, written, n)
        res["build_s"] = [round(b, 2) for b in builds]
        res["build_docs_per_s"] = round(n / statistics.median(builds))
        res["count"] = backend.count(SCHEMA.name)
        res["maxrss_kib_after_build"] = maxrss_kib()
        if raws:
            res["raw_bulk_s"] = [round(r, 2) for r in raws]
            res["raw_bulk_docs_per_s"] = round(n / statistics.median(raws))
            res["rebuild_over_raw_bulk"] = round(res["build_docs_per_s"] / res["raw_bulk_docs_per_s"], 3)
        if raws and name == "elasticsearch":
            # Where the gap goes: the Python-side document preparation rebuild does and the raw bulk does not.
            t0 = time.perf_counter()
            for d in docs:
                backend._source(SCHEMA, SCHEMA.normalise(d))
            res["prepare_docs_s"] = round(time.perf_counter() - t0, 2)
            res["es_jvm_after_build"] = es_heap(backend.client)


def raw_tantivy(backend, docs: list[dict]) -> float:
    """Seconds for tantivy's own writer (same heap and threads as ``rebuild``) to add Documents prepared before the
    clock starts (normalised, analysed), commit and finish merging, into a fresh index folder."""
    import shutil

    from tantivy import Index

    from market.ip.indexing import SCHEMA
    from search.fulltext import _BULK_HEAP
    from search.fulltext_schema import document, tantivy_schema

    prepared = [document(SCHEMA, d) for d in docs]
    folder = Path(backend.path) / f"raw-{time.time_ns()}"
    folder.mkdir(parents=True)
    try:
        t0 = time.perf_counter()
        index = Index(tantivy_schema(SCHEMA), path=str(folder), reuse=False)
        writer = index.writer(_BULK_HEAP, 2)
        for doc in prepared:
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        assert index.searcher().num_docs == len(docs)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def raw_bulk(backend, docs: list[dict]) -> float:
    """Seconds for helpers.bulk of prepared bodies into a plain index with the backend's mapping, + refresh."""
    from elasticsearch.helpers import bulk

    from market.ip.indexing import SCHEMA
    from search.elastic import _mapping

    client = backend.client
    index = f"{backend.prefix}raw-{time.time_ns()}"
    client.indices.create(index=index, mappings=_mapping(SCHEMA),
                          settings={"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"})
    actions = [{"_op_type": "index", "_index": index, "_id": d["id"],
                "_source": backend._source(SCHEMA, SCHEMA.normalise(d))} for d in docs]
    try:
        t0 = time.perf_counter()
        ok, errors = bulk(client, actions, chunk_size=500, raise_on_error=True)
        client.indices.put_settings(index=index, settings={"refresh_interval": "1s"})
        client.indices.refresh(index=index)
        elapsed = time.perf_counter() - t0
        assert ok == len(docs) and not errors
        return elapsed
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)


def api_query(q: str) -> SearchQuery:
    """The SearchQuery ``GET /api/v1/patents?q=…&per_page=20`` builds: every API facet, range facets, highlights."""
    from werkzeug.datastructures import MultiDict

    from market.ip import finder

    return finder.build_query(finder.parse_params(MultiDict({"q": q, "per_page": "20"})), TODAY)


def query_sets() -> dict[str, list[SearchQuery]]:
    return {"real": [bench_query(q) for q in QUERIES], "api_facets": [api_query(q) for q in QUERIES],
            "common": [api_query(q) for q in COMMON]}


def query_phase(backends: dict, reps: int, out: dict) -> None:
    from market.ip.indexing import SCHEMA

    out["common_terms"] = COMMON
    for set_name, queries in query_sets().items():
        totals: dict[str, list[int]] = {}
        facets: dict[str, list] = {}
        for name, backend in backends.items():  # warm-up, untimed; also the hit counts and facets
            results = [backend.run_search(SCHEMA.name, q) for q in queries]
            totals[name] = [r.total for r in results]
            facets[name] = [r.facets for r in results]
        samples: dict[str, list[float]] = {name: [] for name in backends}
        for _ in range(reps):
            for q in queries:
                for name, backend in backends.items():
                    t0 = time.perf_counter()
                    backend.run_search(SCHEMA.name, q)  # the engine's own cost (the pages phase measures the cache)
                    samples[name].append(time.perf_counter() - t0)
        key = "query" if set_name == "real" else f"query_{set_name}"
        for name in backends:
            out["backends"][name][key] = summary(samples[name])
            out["backends"][name]["maxrss_kib_after_queries"] = maxrss_kib()
        texts = QUERIES if set_name != "common" else COMMON
        out[f"hits_{set_name}"] = dict(zip(texts, next(iter(totals.values())), strict=True))
        if len(totals) > 1:
            out[f"hit_counts_equal_{set_name}"] = len({tuple(v) for v in totals.values()}) == 1
            out[f"facets_equal_{set_name}"] = all(v == next(iter(facets.values())) for v in facets.values())
    out["hit_counts_equal"] = all(v for k, v in out.items() if k.startswith("hit_counts_equal_"))


def rss_probe(spec: str) -> dict[str, Any]:
    """In this (fresh) process: create the app, open the index ``ENGINE:PATH``, run the api_facets set twice."""
    from market import create_app
    from market.ip.indexing import SCHEMA

    engine, path = spec.split(":", 1)
    with tempfile.TemporaryDirectory(prefix="rss-probe-") as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "ELASTICSEARCH_URL": None,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/probe.sqlite3",
                          "SEARCH_EMBEDDED_PATH": str(Path(tmp) / "unused.sqlite3")})
        before = status_kib()
        from search.fulltext import TantivyBackend

        backend = TantivyBackend(path)
        with app.app_context():
            queries = query_sets()["api_facets"]
            for _ in range(2):
                for q in queries:
                    backend.search(SCHEMA.name, q)
            count = backend.count(SCHEMA.name)
        return {"engine": engine, "count": count, "app_only": before, "after_queries": status_kib()}


def status_kib() -> dict[str, int]:
    wanted = ("VmHWM", "VmRSS", "RssAnon", "RssFile")
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in wanted:
            found[key + "_kib"] = int(line.split()[1])
    return found


def server_rss(paths: dict[str, str], out: dict) -> None:
    import subprocess

    for name, path in paths.items():
        proc = subprocess.run([sys.executable, __file__, "--rss-probe", f"{name}:{path}"], capture_output=True,
                              text=True, timeout=3600)
        if proc.returncode != 0:
            out["backends"][name]["server_rss"] = {"error": proc.stderr[-500:]}
            continue
        out["backends"][name]["server_rss"] = json.loads(proc.stdout)


# ------------------------------------------------------------------------------------------------ API


def api_phase(patents: list[GenPatent], engines: list[str], es_url: str | None, reps: int, workdir: Path,
              out: dict) -> None:
    """Through the API: same N patents in a private app's database, index built by the app's reindex."""
    api_file = ROOT / "market" / "ip" / "api.py"
    try:
        from market.ip import api as _api  # noqa: F401
        from market.ip import finder
    except ImportError as exc:
        out["api"] = {"status": "missing", "reason": f"{api_file.relative_to(ROOT)} not importable: {exc}"}
        return
    from sqlalchemy import insert
    from werkzeug.datastructures import MultiDict

    from market import create_app
    from market.accounts.models import ROLE_ORG_KIND, Organisation, OrgStatus, Role, User
    from market.bootstrap import init_db
    from market.db import db
    from market.demo import credit_code
    from market.ip import indexing
    from market.ip.importer import KIND_CODES
    from market.ip.models import IpAsset, PledgeState
    from market.security import hash_password
    from search import make_backend
    from search.cache import ResultCache
    from search.fulltext import TantivyBackend

    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'api.sqlite3'}",
        "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "ELASTICSEARCH_URL": None,
        "SEARCH_EMBEDDED_PATH": str(workdir / "api-search.sqlite3"),
    })
    rules = {r.rule for r in app.url_map.iter_rules()}
    if "/api/v1/patents" not in rules:
        out["api"] = {"status": "missing", "reason": "GET /api/v1/patents is not registered"}
        return
    now = datetime(2026, 1, 1, 9, 0)
    res: dict[str, Any] = {"status": "ok", "path": "/api/v1/patents", "per_page": 20}
    with app.app_context():
        init_db()
        org = Organisation(kind=ROLE_ORG_KIND[Role.BANK], name="基准测试银行",
                           credit_code=credit_code("91500112MA5UBENCH"),
                           status=OrgStatus.VERIFIED, created_at=now, verified_at=now, district_code="500112",
                           industry_code="6621")
        user = User(email="bench@example.cq", password_hash=hash_password("bench-password-1"), name="bench",
                    role=Role.BANK, organisation=org, locale="zh_CN", active=True, session_version=1, created_at=now)
        db.session.add_all([org, user])
        db.session.commit()
        t0 = time.perf_counter()
        rows = []
        for p in patents:
            kind, status = KIND_CODES[p.kind_code]
            rows.append({"kind": kind, "publication_number": p.id, "title": p.title,
                         "ipc_codes": list(p.ipc_subclasses),
                         "legal_status": status, "pledge_state": PledgeState.FREE, "frozen": False,
                         "filing_date": p.filing_date, "source": "generated (bench/gen_patents.py)",
                         "created_at": now, "updated_at": now})
            if len(rows) == 5000:
                db.session.execute(insert(IpAsset), rows)
                rows = []
        if rows:
            db.session.execute(insert(IpAsset), rows)
        db.session.commit()
        res["db_load_s"] = round(time.perf_counter() - t0, 2)

        makers = {"tantivy": lambda: TantivyBackend(str(workdir / "api-search.tantivy"))}
        backends = {name: makers[name]() for name in engines if name in makers}
        if es_url:
            backends["elasticsearch"] = make_backend(es_url, "", index_prefix=f"bench-api-{os.getpid()}-")
        for backend in backends.values():  # the same repeated queries: the engine's own cost, as before #13 §5
            backend.result_cache = ResultCache(size=0)
        try:
            for name, backend in backends.items():
                t0 = time.perf_counter()
                written = indexing.reindex(db.session, backend, now)
                db.session.commit()
                res.setdefault(name, {})["reindex_s"] = round(time.perf_counter() - t0, 2)
                res[name]["reindex_docs"] = written
            client = app.test_client()
            token = client.post("/api/v1/tokens", json={"email": "bench@example.cq", "password": "bench-password-1"},
                                base_url="http://localhost").get_json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            today = now.date()  # the API uses utcnow().date(); only the pledgeable filter depends on it (unused)
            queries = [(q, finder.build_query(finder.parse_params(MultiDict({"q": q, "per_page": "20"})), today))
                       for q in QUERIES]
            res["queries_identical_to_api_facets_set"] = [sq for _q, sq in queries] == query_sets()["api_facets"]

            def api_call(q: str) -> None:
                resp = client.get("/api/v1/patents", query_string={"q": q, "per_page": 20}, headers=headers,
                                  base_url="http://localhost")
                assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
                resp.get_json()

            for name, backend in backends.items():
                app.extensions["search"] = backend  # the API's get_backend() returns this one
                api_s, be_s = [], []
                for q, sq in queries:  # warm-up
                    api_call(q)
                    backend.search(indexing.SCHEMA.name, sq)
                for _ in range(reps):
                    for q, sq in queries:
                        t0 = time.perf_counter()
                        api_call(q)
                        t1 = time.perf_counter()
                        backend.search(indexing.SCHEMA.name, sq)
                        t2 = time.perf_counter()
                        api_s.append(t1 - t0)
                        be_s.append(t2 - t1)
                a, b = summary(api_s), summary(be_s)
                res[name].update(api=a, backend=b, api_p50_over_backend_p50=round(a["p50_ms"] / b["p50_ms"], 3),
                                 facets_in_api_query=list(queries[0][1].facets),
                                 highlight_fields=list(queries[0][1].highlight_fields))
        finally:
            app.extensions["search"] = None
            for name, backend in backends.items():
                if name == "elasticsearch":
                    with contextlib.suppress(Exception):
                        backend.drop_all()
                backend.close()
            db.session.remove()
            db.engine.dispose()
    res["maxrss_kib_after_api"] = maxrss_kib()
    out["api"] = res


# ------------------------------------------------------------------------------------------------ main


def targets(out: dict) -> dict[str, Any]:
    """The issue's targets (#13 §4), for every embedded engine measured."""
    t: dict[str, Any] = {}
    be = out["backends"]
    es = be.get("elasticsearch", {})
    for name in EMBEDDED:
        mine = be.get(name)
        if not mine or "query" not in mine:
            continue
        if "query_api_facets" in es:
            for key in ("query_api_facets", "query_common", "query"):
                e, s = mine[key]["p95_ms"], es[key]["p95_ms"]
                t[f"{name}_p95_le_0.5_es_p95_{key.removeprefix('query_') if key != 'query' else 'real'}"] = {
                    "embedded_p95_ms": e, "es_p95_ms": s, "ratio": round(e / s, 3), "met": e <= 0.5 * s}
        if "rebuild_over_raw_bulk" in mine:
            r = mine["rebuild_over_raw_bulk"]
            t[f"{name}_rebuild_ge_0.8_raw_bulk"] = {"ratio": r, "met": r >= 0.8}
        rss = mine.get("server_rss", {}).get("after_queries", {})
        if "VmHWM_kib" in rss:
            mb = round(rss["VmHWM_kib"] * 1024 / 1e6, 1)
            t[f"{name}_server_rss_le_400_mb"] = {"n": out["data"]["n"], "peak_rss_mb": mb, "met": mb <= 400}
    if "rebuild_over_raw_bulk" in es:
        r = es["rebuild_over_raw_bulk"]
        t["elasticsearch_rebuild_ge_0.8_raw_bulk"] = {"ratio": r, "met": r >= 0.8}
    api = out.get("api", {})
    for name in (*EMBEDDED, "elasticsearch"):
        if isinstance(api.get(name), dict) and "api_p50_over_backend_p50" in api[name]:
            r = api[name]["api_p50_over_backend_p50"]
            t[f"api_p50_le_1.3_backend_p50_{name}"] = {"ratio": r, "met": r <= 1.3}
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N=2,000, 1 round, 1 repetition (CI smoke run)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("-n", type=int, help="patents (default 100,000; 2,000 with --quick)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--reps", type=int, help="timed passes over the queries (default 5; 1 with --quick)")
    ap.add_argument("--rounds", type=int, help="build rounds (default 2; 1 with --quick)")
    ap.add_argument("--es-url", default=os.environ.get("MARKET_BENCH_ELASTICSEARCH_URL")
                    or os.environ.get("MARKET_TEST_ELASTICSEARCH_URL") or "",
                    help="Elasticsearch URL, 'none' to skip (default: MARKET_BENCH_ELASTICSEARCH_URL or "
                         "MARKET_TEST_ELASTICSEARCH_URL)")
    ap.add_argument("--no-api", action="store_true", help="skip the through-the-API part")
    ap.add_argument("--engines", default="tantivy", help="embedded engines to run (default: tantivy)")
    ap.add_argument("--rss-probe", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rss_probe:
        print(json.dumps(rss_probe(args.rss_probe)))
        return 0
    engines = [e for e in args.engines.split(",") if e]
    n = args.n or (2_000 if args.quick else 100_000)
    reps = args.reps or (1 if args.quick else 5)
    rounds = args.rounds or (1 if args.quick else 2)
    es_url = "" if args.es_url.lower() in ("", "none") else args.es_url

    started = time.perf_counter()
    out: dict[str, Any] = {
        "data": {"generated": True, "n": n, "seed": args.seed, "generator": "bench/gen_patents.py"},
        "quick": args.quick, "reps": reps, "rounds": rounds, "queries": QUERIES, "facets": list(FACETS),
        "per_page": 20, "machine": machine(), "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "memory_method": "resource.getrusage(RUSAGE_SELF).ru_maxrss (peak RSS of the process, KiB, monotone)",
        "backends": {}, "maxrss_kib_start": maxrss_kib(),
    }
    t0 = time.perf_counter()
    patents = list(generate(n, args.seed))
    docs = documents(patents)
    out["data"]["generate_s"] = round(time.perf_counter() - t0, 2)
    out["maxrss_kib_after_data"] = maxrss_kib()
    log(f"generated {n} patents in {out['data']['generate_s']} s")

    from search.fulltext import TantivyBackend

    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        workdir = Path(tmp)
        paths = {"tantivy": str(workdir / "bench-search.tantivy")}
        makers = {"tantivy": TantivyBackend}
        backends: dict[str, Any] = {name: makers[name](paths[name]) for name in engines}
        out["engines"] = engines
        for name in engines:
            out["backends"][name] = {"path": "temp folder"}
        if es_url:
            from search.elastic import ElasticsearchBackend

            prefix = f"bench-{os.getpid()}-{time.time_ns() % 10**6}-"
            backends["elasticsearch"] = ElasticsearchBackend(es_url, index_prefix=prefix, request_timeout=120)
            out["backends"]["elasticsearch"] = {"url": es_url, "index_prefix": prefix}
        else:
            out["backends"]["elasticsearch"] = {"skipped": "no Elasticsearch URL"}
        try:
            build_phase(backends, docs, rounds, out)
            log("build done", {k: v.get("build_docs_per_s") for k, v in out["backends"].items()})
            query_phase(backends, reps, out)
            log("queries done")
            pages_phase(backends, query_sets()["api_facets"], reps, out)
            log("pages done", {k: v for k, v in out["pages"].items() if isinstance(v, dict)})
            for name in engines:
                where = Path(paths[name])
                size = where.stat().st_size if where.is_file() else sum(
                    f.stat().st_size for f in where.rglob("*") if f.is_file())
                out["backends"][name]["index_mib"] = round(size / 2**20, 1)
            for backend in backends.values():
                backend.close()
            server_rss({name: paths[name] for name in engines}, out)
            log("server RSS done")
        finally:
            for name, backend in backends.items():
                if name == "elasticsearch":
                    with contextlib.suppress(Exception):
                        out["backends"][name]["es_jvm_at_end"] = es_heap(backend.client)
                    backend.drop_all()
                backend.close()
        if args.no_api:
            out["api"] = {"status": "skipped"}
        else:
            api_phase(patents, engines, es_url or None, reps, workdir, out)
            log("api done", out["api"].get("status"))
    out["targets"] = targets(out)
    out["total_s"] = round(time.perf_counter() - started, 1)
    out["maxrss_kib_end"] = maxrss_kib()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print_table(out)
    return 0


def print_table(out: dict) -> None:
    print(f"N={out['data']['n']} generated patents, reps={out['reps']}, rounds={out['rounds']}, "
          f"machine: {out['machine']['nproc']} cpu {out['machine']['cpu']}")
    for name, r in out["backends"].items():
        if "query" not in r:
            print(f"{name}: {r}")
            continue
        print(f"{name:14} build {r['build_docs_per_s']:>8} docs/s"
              + (f"  raw bulk {r['raw_bulk_docs_per_s']} docs/s (ratio {r['rebuild_over_raw_bulk']})"
                 if "raw_bulk_docs_per_s" in r else ""))
        for key in ("query", "query_api_facets", "query_common"):
            q = r[key]
            print(f"    {key:18} p50 {q['p50_ms']:8.2f} ms  p95 {q['p95_ms']:8.2f} ms")
    api = out.get("api", {})
    for name in (*EMBEDDED, "elasticsearch"):
        if isinstance(api.get(name), dict) and "api" in api[name]:
            a = api[name]
            print(f"API/{name:10} p50 {a['api']['p50_ms']:.2f} ms vs backend {a['backend']['p50_ms']:.2f} ms "
                  f"(ratio {a['api_p50_over_backend_p50']})")
    if api.get("status") != "ok":
        print(f"API: {api}")
    for k, v in out["targets"].items():
        print(f"target {k}: {v}")
    print(f"peak RSS {out['maxrss_kib_end']} KiB, total {out['total_s']} s")


if __name__ == "__main__":
    raise SystemExit(main())
