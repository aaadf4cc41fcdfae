"""The embedded backend's query translation: a parsed `SearchQuery` as tantivy queries (text, ranges, filters), and
the page in the contract's order (ties broken by id)."""

from __future__ import annotations

from typing import Any

from tantivy import FieldType, Occur, Order, Query

from .base import ParsedQuery, SearchQuery, Unit, keyword_value, range_buckets
from .fulltext_schema import Generation, millis


def must(*clauses: Query) -> Query:
    return clauses[0] if len(clauses) == 1 else Query.boolean_query([(Occur.Must, c) for c in clauses])


def either(clauses: list[Query]) -> Query:
    return clauses[0] if len(clauses) == 1 else Query.boolean_query([(Occur.Should, c) for c in clauses])


def const(query: Query) -> Query:
    """A clause that selects without adding to the score (x + 0.0 keeps every BM25 score bit for bit)."""
    return Query.const_score_query(query, 0.0)


def token(gen: Generation, token: str) -> Query:
    """One token: in some text field; the fields' BM25 parts add up, times their boosts."""
    clauses = []
    for name, boost in gen.schema.text_fields.items():
        term = Query.term_query(gen.tschema, name, token)
        clauses.append(term if boost == 1.0 else Query.boost_query(term, boost))
    return either(clauses)


def unit(gen: Generation, unit: Unit) -> Query:
    if unit.phrase:
        clauses = []
        for name, boost in gen.schema.text_fields.items():
            phrase = Query.phrase_query(gen.tschema, name, list(unit.tokens))
            clauses.append(phrase if boost == 1.0 else Query.boost_query(phrase, boost))
        return either(clauses)
    return must(*(token(gen, t) for t in unit.tokens))


def text_query(gen: Generation, parsed: ParsedQuery, query_tokens: list[str]) -> Query | None:
    if parsed.simple:
        return must(*(token(gen, t) for t in query_tokens)) if query_tokens else None
    if not parsed.must:
        return None
    return must(*(either([unit(gen, u) for u in group]) for group in parsed.must))


def range_query(gen: Generation, name: str, lo: Any, hi: Any) -> Query:
    """Stored-form bounds (inclusive, None open) on a numeric or date field; both open: the field exists."""
    if lo is None and hi is None:
        return Query.exists_query(name)
    if name in gen.schema.date_fields:
        return Query.range_query(gen.tschema, name, FieldType.Integer, None if lo is None else millis(lo),
                                 None if hi is None else millis(hi))
    return Query.range_query(gen.tschema, name, FieldType.Float, lo, hi)


def filter_query(gen: Generation, query: SearchQuery, name: str) -> Query:
    values = {keyword_value(v) for v in query.filters[name]}
    if name in query.range_facets:
        field_name = query.range_facets[name][0]
        chosen = [range_query(gen, field_name, lo, hi) for key, lo, hi in range_buckets(gen.schema, query, name)
                  if key in values]
        return either(chosen) if chosen else Query.empty_query()
    return Query.term_set_query(gen.tschema, name, sorted(values))


def page(searcher, gen: Generation, query: SearchQuery, hits: Query, scored: bool) -> tuple[int, list[Any]]:
    """The total and the page's addresses, in the contract's order."""
    need = query.offset + query.per_page
    sort = query.sort_field()
    if sort is None:
        if scored:
            total, found = top(searcher, hits, need, None, True)
            keyed = [(-score, addr) for score, addr in found]
        else:
            total, found = top(searcher, hits, need, "rid", False)
            keyed = [(0, addr) for _key, addr in found]
        return total, ordered(searcher, keyed)[query.offset : need]
    field_name, descending = sort
    with_value = must(hits, const(Query.exists_query(field_name)))
    n_with, found = top(searcher, with_value, need, field_name, descending)
    keyed = [(-value if descending else value, addr) for value, addr in found]
    page = ordered(searcher, keyed)[query.offset : need]
    missing = Query.boolean_query([(Occur.Must, hits), (Occur.MustNot, Query.exists_query(field_name))])
    n_missing, rest = top(searcher, missing, max(0, need - n_with), "rid", False)
    if len(page) < query.per_page and rest:
        skip = max(0, query.offset - n_with)
        page += ordered(searcher, [(0, addr) for _key, addr in rest])[skip : skip + query.per_page
                                                                                - len(page)]
    return n_with + n_missing, page


def top(searcher, hits: Query, need: int, field_name: str | None, descending: bool) -> tuple[int, list[Any]]:
    """The count and at least the first ``need`` hits (score, or the field's value, and address), plus every
    hit tying with the last of them, so the caller can break the ties by id."""
    if need == 0:
        return searcher.search(hits, 1, count=True).count, []
    limit = need + 1
    order = Order.Desc if descending else Order.Asc
    while True:
        if field_name is None:
            res = searcher.search(hits, limit, count=True)
        else:
            res = searcher.search(hits, limit, count=True, order_by_field=field_name, order=order)
        found = res.hits
        if len(found) < limit or found[-1][0] != found[need - 1][0]:
            return res.count, found
        limit *= 4


def ordered(searcher, keyed: list[tuple[Any, Any]]) -> list[Any]:
    """Addresses sorted by (key, id): the fast ``rid`` first, the stored id where two ``rid`` are equal."""
    if not keyed:
        return []
    rids = searcher.fast_field_values("rid", [addr for _k, addr in keyed])
    rows = [(key, rid, i) for i, ((key, _a), rid) in enumerate(zip(keyed, rids, strict=True))]
    seen: dict[tuple[Any, int], int] = {}
    clash = set()
    for key, rid, i in rows:
        if (key, rid) in seen:
            clash.update((i, seen[(key, rid)]))
        seen[(key, rid)] = i
    full = {i: searcher.doc(keyed[i][1]).to_dict()["id"][0] for i in clash}
    rows.sort(key=lambda r: (r[0], r[1], full.get(r[2], "")))
    return [keyed[i][1] for _k, _r, i in rows]
