"""The embedded backend's facets: disjunctive terms and range counts through tantivy aggregations."""

from __future__ import annotations

import math
from typing import Any

from tantivy import Query

from .base import SearchQuery, range_buckets
from .fulltext_query import const, must, range_query
from .fulltext_schema import Generation, millis

TERMS_SIZE = 65_535  # per-segment terms kept by an aggregation: exact counts across segments


def facets(searcher, gen: Generation, query: SearchQuery, base: list[Query],
            filters: dict[str, Query]) -> dict[str, list[tuple[str, int]]]:
    """Disjunctive facets: each facet over ``q``, ranges and the filters of the other fields; the facets of
    unfiltered fields share one aggregation pass (terms for keyword fields, range for range facets)."""
    scopes: dict[str | None, dict[str, Any]] = {}
    for name in query.facets:
        scopes.setdefault(name if name in filters else None, {})[name] = {
            "terms": {"field": name, "size": 4 * query.facet_size + 1, "segment_size": TERMS_SIZE}}
    buckets = {name: range_buckets(gen.schema, query, name) for name in query.range_facets}
    for name in query.range_facets:
        spec = range_agg(gen, query.range_facets[name][0], buckets[name])
        scopes.setdefault(name if name in filters else None, {})[name] = spec
    facets: dict[str, list[tuple[str, int]]] = {}
    for scope, wanted in scopes.items():
        clauses = [*base, *(q for other, q in filters.items() if other != scope)]
        scope_query = must(*clauses) if clauses else Query.all_query()
        terms = {name: spec for name, spec in wanted.items() if spec is not None and "terms" in spec}
        ranges = {name: spec for name, spec in wanted.items() if spec is not None and "range" in spec}
        result = aggregate(searcher, scope_query, terms, ranges, query.facet_size) if terms or ranges else {}
        for name, spec in wanted.items():
            if spec is None:  # overlapping buckets: one count each
                field_name = query.range_facets[name][0]
                counts = [(key, count(searcher, must(scope_query, const(range_query(gen, field_name,
                                                                                                lo, hi)))))
                          for key, lo, hi in buckets[name]]
            elif "range" in spec:
                got = {b["key"]: b["doc_count"] for b in result[name]["buckets"]}
                counts = [(key, got.get(f"~{i}", 0)) for i, (key, _lo, _hi) in enumerate(buckets[name])]
            else:
                facets[name] = result[name]
                continue
            facets[name] = [(key, n) for key, n in counts if n]
    return {name: facets[name] for name in (*query.range_facets, *query.facets)}


def range_agg(gen: Generation, field_name: str, buckets: list[tuple[str, Any, Any]]) -> dict[str, Any] | None:
    """A range aggregation for inclusive stored-form buckets (keys ``~0``, ``~1``…: tantivy adds buckets of its
    own for the gaps), or None when buckets overlap (tantivy's range aggregation refuses that)."""
    bounds = []
    for i, (_key, lo, hi) in enumerate(buckets):
        if field_name in gen.schema.date_fields:
            lo, hi = (None if lo is None else millis(lo)), (None if hi is None else millis(hi) + 1)
        else:
            hi = None if hi is None else math.nextafter(hi, math.inf)
        bounds.append((-math.inf if lo is None else lo, math.inf if hi is None else hi, i))
    bounds.sort()
    if any(lo >= hi for lo, hi, _i in bounds) or any(a[1] > b[0] for a, b in zip(bounds, bounds[1:],
                                                                                          strict=False)):
        return None
    ranges = [{"key": f"~{i}", **({"from": lo} if lo != -math.inf else {}),
               **({"to": hi} if hi != math.inf else {})} for lo, hi, i in bounds]
    return {"range": {"field": field_name, "ranges": ranges}}


def count(searcher, query: Query) -> int:
    return searcher.search(query, 1, count=True).count


def aggregate(searcher, query: Query, aggs: dict[str, Any], ranges: dict[str, Any],
               size: int) -> dict[str, Any]:
    """Terms counts ordered by count desc then value asc, the first ``size``; asks again for more values while
    the last one asked for ties with the ``size``-th (tantivy orders ties its own way). Range aggregations
    come back as tantivy gives them."""
    out: dict[str, Any] = {}
    while aggs or ranges:
        result = searcher.aggregate(query, {**aggs, **ranges})
        out.update({name: result[name] for name in ranges})
        ranges = {}
        again = {}
        for name, spec in aggs.items():
            got = [(b["key"], b["doc_count"]) for b in result[name]["buckets"] if b["doc_count"]]
            asked = spec["terms"]["size"]
            if len(got) >= asked and got[-1][1] == got[size - 1][1]:
                again[name] = {"terms": {**spec["terms"], "size": asked * 4}}
            else:
                out[name] = sorted(got, key=lambda vc: (-vc[1], vc[0]))[:size]
        aggs = again
    return out
