"""Work done once per query and index state: the facet counts and the total of a query are computed on its first
page and reused for every other page and sort of it, until the index changes.

A query's facets and total do not depend on its page, page size, sort or highlights, only on what it matches and
on the index's content. :class:`ResultCache` keys them on the normalised query (its tokens as
:func:`~search.base.parse_query` reads them, the filters as sets, the ranges, the facets asked for) and on the
index's **data version** (``SearchBackend.data_version``): a value that every write to the index changes, read from
the index itself — the committed state on disk for tantivy, a version document on the Elasticsearch server — so
every process sharing an index sees the same version and a change made by any of them is seen by all. The version
is read before the search runs, so an entry never holds data older than its version. A hit runs the query for its
page only (top-k, count and highlights) and takes the facets from the entry; the fresh count must equal the
entry's total, or the entry is replaced (a second line of defence that never lets the two disagree).

:class:`LRU` is the thread-safe least-recently-used map behind it (also the patent search page's fragment cache).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .base import SearchQuery, SearchResult, keyword_value, parse_query

if TYPE_CHECKING:
    from .base import SearchBackend

__all__ = ["DEFAULT_SIZE", "LRU", "ResultCache", "facet_key"]

DEFAULT_SIZE = 256


class LRU:
    """A thread-safe map keeping the ``size`` most recently used entries; counts its hits and misses."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def facet_key(query: SearchQuery) -> tuple:
    """What a query's facets and total depend on: its parsed ``q`` (for plain words the set of tokens), filters (OR
    within a field: a set), ranges, the facets asked for and their size. Not the page, page size, sort or
    highlights."""
    parsed = parse_query(query.q)
    text: Hashable = ("words", frozenset(parsed.tokens())) if parsed.simple else parsed
    filters = frozenset((name, frozenset(keyword_value(v) for v in values))
                        for name, values in query.filters.items() if values)
    ranges = frozenset((name, tuple(bounds)) for name, bounds in query.ranges.items())
    range_facets = tuple((name, field_name, tuple(map(tuple, buckets)))
                         for name, (field_name, buckets) in query.range_facets.items())
    return text, filters, ranges, tuple(query.facets), query.facet_size, range_facets


class ResultCache:
    """Facet counts and totals by (index, data version, :func:`facet_key`), at most ``size`` queries."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.entries = LRU(size)

    def search(self, backend: SearchBackend, schema_name: str, query: SearchQuery) -> SearchResult:
        """``backend``'s result for ``query``, its facets and total from the cache when the index is unchanged."""
        if not (query.facets or query.range_facets) or self.entries.size <= 0:
            return backend.run_search(schema_name, query)
        version = backend.data_version(schema_name)  # before the search: the entry is never older than its key
        if version is None:
            return backend.run_search(schema_name, query)
        key = (schema_name, version, facet_key(query))
        found = self.entries.get(key)
        if found is not None:
            total, facets = found
            # The page alone: range facets stay only where a filter names them (they define its buckets).
            page_only = replace(query, facets=(), range_facets={name: spec for name, spec in query.range_facets.items()
                                                                 if query.filters.get(name)})
            result = backend.run_search(schema_name, page_only)
            if result.total == total:
                result.facets = {name: list(buckets) for name, buckets in facets.items()}
                return result
        result = backend.run_search(schema_name, query)
        self.entries.put(key, (result.total, {name: tuple(buckets) for name, buckets in result.facets.items()}))
        return result
