"""The Elasticsearch backend's query translation: a `SearchQuery` as a search request body (disjunctive facets
through per-facet filter aggregations and a post filter), and the facet counts of its response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Schema, SearchQuery, Unit, keyword_value, parse_query, range_bounds, range_buckets


def search_body(schema: Schema, query: SearchQuery) -> dict[str, Any]:
    """The request body of a search: the query, the page, the sort, the post filter and the facet aggregations."""
    parsed = parse_query(query.q)
    if parsed.simple:
        must = [token_clause(schema, tok) for tok in parsed.tokens()]
        must_not: list[dict[str, Any]] = []
    else:
        must = [either(schema, group) for group in parsed.must]
        must_not = [unit_clause(schema, unit) for unit in parsed.must_not]
    ranges = []
    for name, bounds in query.ranges.items():
        lo, hi = range_bounds(schema, name, bounds)
        cond = {k: v for k, v in (("gte", lo), ("lte", hi)) if v is not None}
        if cond:
            ranges.append({"range": {name: cond}})
    filters = {
        name: range_filter(schema, query, name, {keyword_value(v) for v in values})
        if name in query.range_facets
        else {"terms": {name: [keyword_value(v) for v in values]}}
        for name, values in query.filters.items()
        if values
    }
    body: dict[str, Any] = {
        "query": {"bool": {"must": must, "filter": ranges, "must_not": must_not}},
        "from": query.offset,
        "size": query.per_page,
        "track_total_hits": True,
        "sort": sort_clause(query, bool(must)),
        "_source": ["raw"] if query.highlight_fields and must else False,
    }
    if filters:
        body["post_filter"] = {"bool": {"filter": list(filters.values())}}
    aggs: dict[str, Any] = {}
    for name in query.range_facets:
        aggs[name] = {
            "filter": {"bool": {"filter": [c for f, c in filters.items() if f != name]}},
            "aggs": {"values": {"filters": {"filters": {
                key: range_clause(query.range_facets[name][0], lo, hi)
                for key, lo, hi in range_buckets(schema, query, name)
            }}}},
        }
    if query.facets:
        aggs |= {
            name: {
                "filter": {"bool": {"filter": [c for f, c in filters.items() if f != name]}},
                "aggs": {
                    "values": {
                        "terms": {
                            "field": name,
                            "size": query.facet_size,
                            "order": [{"_count": "desc"}, {"_key": "asc"}],
                        }
                    }
                },
            }
            for name in query.facets
        }
    if aggs:
        body["aggs"] = aggs
    return body


def read_facets(schema: Schema, query: SearchQuery, resp: Mapping[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """The facet counts of a search response (terms facets, then range facets in bucket order)."""
    facets = {
        name: [(b["key"], b["doc_count"]) for b in resp["aggregations"][name]["values"]["buckets"]]
        for name in query.facets
    }
    for name in query.range_facets:
        found = resp["aggregations"][name]["values"]["buckets"]
        facets[name] = [(key, found[key]["doc_count"]) for key, _lo, _hi in range_buckets(schema, query, name)
                        if found.get(key, {}).get("doc_count")]
    return facets


def range_clause(field_name: str, lo: Any, hi: Any) -> dict[str, Any]:
    cond = {k: v for k, v in (("gte", lo), ("lte", hi)) if v is not None}
    return {"range": {field_name: cond}} if cond else {"exists": {"field": field_name}}


def range_filter(schema: Schema, query: SearchQuery, name: str, keys: set[str]) -> dict[str, Any]:
    """Documents in any chosen bucket of range facet ``name`` (none when no key names a bucket)."""
    field_name = query.range_facets[name][0]
    should = [range_clause(field_name, lo, hi) for key, lo, hi in range_buckets(schema, query, name)
              if key in keys]
    if not should:
        return {"bool": {"must_not": [{"match_all": {}}]}}
    return {"bool": {"should": should, "minimum_should_match": 1}}


def either(schema: Schema, group: tuple[Unit, ...]) -> dict[str, Any]:
    clauses = [unit_clause(schema, unit) for unit in group]
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def unit_clause(schema: Schema, unit: Unit) -> dict[str, Any]:
    """A word: all its tokens, each in some field; a phrase: its tokens side by side in one field."""
    if unit.phrase:
        phrases = [{"match_phrase": {f: {"query": " ".join(unit.tokens), "boost": b}}}
                   for f, b in schema.text_fields.items()]
        return {"bool": {"should": phrases, "minimum_should_match": 1}}
    clauses = [token_clause(schema, tok) for tok in unit.tokens]
    return clauses[0] if len(clauses) == 1 else {"bool": {"must": clauses}}


def token_clause(schema: Schema, token: str) -> dict[str, Any]:
    """One query token: it must occur in some text field; the fields' BM25 parts add up, times their boosts."""
    terms = [{"term": {f: {"value": token, "boost": b}}} for f, b in schema.text_fields.items()]
    return terms[0] if len(terms) == 1 else {"bool": {"should": terms, "minimum_should_match": 1}}


def sort_clause(query: SearchQuery, scored: bool) -> list[Any]:
    sort = query.sort_field()
    if sort is not None:
        order = "desc" if sort[1] else "asc"
        return [{sort[0]: {"order": order, "missing": "_last"}}, {"id": "asc"}]
    return [{"_score": "desc"}, {"id": "asc"}] if scored else [{"id": "asc"}]
