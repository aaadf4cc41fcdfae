"""Paging through a query: every page recomputing matches and facets (before #13 §5) against the facets and total
computed once per query and data version (``search.cache.ResultCache``, what ``backend.search`` does now).

For each query of the ``api_facets`` set (the very SearchQuery ``GET /api/v1/patents`` builds: every API facet,
the range facets, highlights) and each engine, interleaved: pages 1…``pages`` through ``backend.run_search`` (the
engine alone, no cache: what every page cost before), then the same pages through ``backend.search`` with a fresh
cache (page 1 misses and fills it, the others hit). The first pass also checks that both give identical ids,
totals and facets on every page.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from search.cache import ResultCache


def _ms(seconds: list[float], p: float) -> float:
    ordered = sorted(seconds)
    return round(1000 * ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))], 2)


def pages_phase(backends: dict, queries: list, reps: int, out: dict, pages: int = 5) -> None:
    from market.ip.indexing import SCHEMA

    name_ = SCHEMA.name
    samples = {name: {"before_first": [], "after_first": [], "before_rest": [], "after_rest": []} for name in backends}
    equal = True
    for backend in backends.values():  # warm-up, untimed
        for sq in queries:
            backend.run_search(name_, sq)
    for rep in range(reps):
        for sq in queries:
            for name, backend in backends.items():
                before = []
                for page in range(1, pages + 1):
                    t0 = time.perf_counter()
                    result = backend.run_search(name_, replace(sq, page=page))
                    before.append((time.perf_counter() - t0, result))
                backend.result_cache = ResultCache()
                after = []
                for page in range(1, pages + 1):
                    t0 = time.perf_counter()
                    result = backend.search(name_, replace(sq, page=page))
                    after.append((time.perf_counter() - t0, result))
                if rep == 0:
                    equal &= all((a.ids, a.total, a.facets) == (b.ids, b.total, b.facets)
                                 for (_t, a), (_u, b) in zip(before, after, strict=True))
                s = samples[name]
                s["before_first"].append(before[0][0])
                s["after_first"].append(after[0][0])
                s["before_rest"] += [t for t, _r in before[1:]]
                s["after_rest"] += [t for t, _r in after[1:]]
    res: dict[str, Any] = {"pages": pages, "queries": len(queries), "reps": reps, "identical_results": equal}
    for name, s in samples.items():
        row = {key: {"p50_ms": _ms(v, 50), "p95_ms": _ms(v, 95), "sum_s": round(sum(v), 3)} for key, v in s.items()}
        row["rest_p50_after_over_before"] = round(row["after_rest"]["p50_ms"] / row["before_rest"]["p50_ms"], 3)
        row["first_p50_after_over_before"] = round(row["after_first"]["p50_ms"] / row["before_first"]["p50_ms"], 3)
        all_before = sum(s["before_first"]) + sum(s["before_rest"])
        all_after = sum(s["after_first"]) + sum(s["after_rest"])
        row["all_pages_time_after_over_before"] = round(all_after / all_before, 3)
        res[name] = row
    for backend in backends.values():
        backend.result_cache = ResultCache(size=0)
    out["pages"] = res
