"""The search backend interface, the index schema, and the query/result types every backend shares.

Matching and ranking rules (identical on every backend):

* ``q`` is analysed with :mod:`search.analysis`; repeated tokens count once. A document matches when it holds
  **every** query token in at least one text field (AND of tokens; for Chinese that means every bigram, so
  ``锂电池`` needs ``锂电`` and ``电池``; a mixed ``锂电池 battery`` needs all three). A ``q`` without tokens
  puts no text condition.
* Operators (parsed by :func:`parse_query`, the same for every backend): words are ANDed; ``A OR B`` (upper
  case) needs either side; ``-word`` or ``NOT word`` (upper case) excludes documents holding it (a query of
  exclusions only starts from every document); ``"…"`` needs its tokens side by side in one field (a phrase).
  An unquoted word's own tokens are ANDed, as above.
* Relevance is BM25 (k1=1.2, b=0.75) summed over tokens and text fields, each field's part times its boost;
  ties, and every non-relevance sort, are broken by ``id`` ascending (byte order).
* ``filters``: OR within a field, AND across fields; an empty value list puts no condition.
  ``ranges``: inclusive bounds, ``None`` for an open end. Facet counts are over documents matching ``q``,
  ``ranges`` and the filters of *other* fields (disjunctive facets), ordered by count desc then value asc.
* ``range_facets``: named buckets over a numeric or date field, ``name → (field, [(key, lo, hi), …])``
  (inclusive bounds, ``None`` open), computed at query time (so buckets relative to "today" never go stale
  in the index). They count like keyword facets (disjunctive) and come back in bucket order, empty buckets left
  out; ``filters[name] = [key, …]`` keeps documents in any of the chosen buckets (OR), ANDed with other filters.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cache import ResultCache

__all__ = [
    "MAX_RESULT_WINDOW",
    "ParsedQuery",
    "Unit",
    "parse_query",
    "SearchBackend",
    "SearchError",
    "SearchQuery",
    "SearchResult",
    "SearchUnavailable",
    "Schema",
    "UnknownIndex",
    "range_buckets",
]

MAX_RESULT_WINDOW = 10_000
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class SearchError(Exception):
    """Base class for search errors."""


class SearchUnavailable(SearchError):
    """The engine cannot be reached (refused, timed out, locked): retry later, nothing was applied."""


class UnknownIndex(SearchError):
    """An operation named an index that :meth:`SearchBackend.ensure_index` never created."""


@dataclass(frozen=True)
class Schema:
    """Describes one index: its name and which document keys are text, keyword, numeric or date fields.

    ``text_fields`` maps a field to its boost. Keyword values may be lists (multi-valued). Numbers are stored
    as floats, good for ranking and ranges only: the database keeps exact money. Dates are ``date``,
    ``datetime`` (aware ones are converted to UTC) or ISO strings.
    """

    name: str
    text_fields: Mapping[str, float]
    keyword_fields: Sequence[str] = ()
    numeric_fields: Sequence[str] = ()
    date_fields: Sequence[str] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "text_fields", {k: float(v) for k, v in self.text_fields.items()})
        for attr in ("keyword_fields", "numeric_fields", "date_fields"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        names = [self.name, *self.all_fields]
        bad = [n for n in names if not _NAME.match(n) or n in ("id", "rid", "raw")]
        if bad or len(set(self.all_fields)) != len(self.all_fields):
            raise ValueError(f"bad or repeated schema names: {bad or self.all_fields}")
        if not self.text_fields or any(b <= 0 for b in self.text_fields.values()):
            raise ValueError("a schema needs at least one text field, boosts > 0")
        object.__setattr__(self, "_allowed", frozenset((*self.all_fields, "id")))

    @property
    def all_fields(self) -> tuple[str, ...]:
        """Every field name, text fields first."""
        return (*self.text_fields, *self.keyword_fields, *self.numeric_fields, *self.date_fields)

    def fingerprint(self) -> str:
        """A stable JSON form of the schema, stored with the index to notice a changed definition."""
        return json.dumps(
            {
                "name": self.name,
                "text": self.text_fields,
                "keyword": self.keyword_fields,
                "numeric": self.numeric_fields,
                "date": self.date_fields,
            },
            sort_keys=True,
        )

    @classmethod
    def from_fingerprint(cls, text: str) -> Schema:
        """Rebuild a schema from :meth:`fingerprint` output."""
        d = json.loads(text)
        return cls(d["name"], d["text"], d["keyword"], d["numeric"], d["date"])

    def normalise(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Check a document and convert its values to storage form (str keywords, float numbers, ISO dates)."""
        if "id" not in doc or doc["id"] in (None, ""):
            raise ValueError("a document needs an 'id'")
        unknown = doc.keys() - self._allowed  # type: ignore[attr-defined]
        if unknown:
            raise ValueError(f"fields not in schema {self.name!r}: {sorted(unknown)}")
        out: dict[str, Any] = {"id": str(doc["id"])}
        for name in self.text_fields:
            value = doc.get(name)
            out[name] = "" if value is None else str(value)
        for name in self.keyword_fields:
            value = doc.get(name)
            if value is None:
                out[name] = []
            elif type(value) is str:
                out[name] = [value]
            elif isinstance(value, list | tuple | set | frozenset):
                out[name] = sorted({keyword_value(v) for v in value if v is not None})
            else:
                out[name] = [keyword_value(value)]
        for name in self.numeric_fields:
            value = doc.get(name)
            out[name] = None if value is None else float(value)
        for name in self.date_fields:
            value = doc.get(name)
            out[name] = None if value is None else date_value(value)
        return out


def keyword_value(value: Any) -> str:
    """The string form of a keyword value (``True`` → ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def date_value(value: date | datetime | str, end_of_day: bool = False) -> str:
    """The fixed-width ISO form both engines compare the same way: ``YYYY-MM-DDTHH:MM:SS.mmm`` (UTC, naive).

    A bare date means its first millisecond, or its last one with ``end_of_day`` (for an upper range bound).
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.max if end_of_day else time.min)
    elif value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds")


def range_bounds(schema: Schema, name: str, bounds: tuple[Any, Any]) -> tuple[Any, Any]:
    """Convert ``(lo, hi)`` of a range filter to the stored form of the field."""
    lo, hi = bounds
    if name in schema.date_fields:
        return (
            None if lo is None else date_value(lo),
            None if hi is None else date_value(hi, end_of_day=True),
        )
    return (None if lo is None else float(lo), None if hi is None else float(hi))


@dataclass(frozen=True)
class SearchQuery:
    """What to search for; see the module docstring for the matching rules.

    ``sort`` is ``"relevance"`` (default), ``"field"`` (ascending) or ``"-field"`` (descending) on a numeric
    or date field; documents without the field come last. ``page`` is 1-based.
    """

    q: str = ""
    filters: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    ranges: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    facets: Sequence[str] = ()
    facet_size: int = 50
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    highlight_fields: Sequence[str] = ()
    fragment_size: int = 160
    range_facets: Mapping[str, tuple[str, Sequence[tuple[str, Any, Any]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.page < 1 or not 0 <= self.per_page <= 1000:
            raise ValueError("page must be >= 1 and per_page within 0..1000")
        if self.page * self.per_page > MAX_RESULT_WINDOW:
            raise ValueError(f"cannot page beyond {MAX_RESULT_WINDOW} results")
        if not 1 <= self.facet_size <= 1000:
            raise ValueError("facet_size must be within 1..1000")
        if any(isinstance(v, str | bytes) for v in self.filters.values()):
            raise ValueError("filter values must be a list of values, not a single string")

    @property
    def offset(self) -> int:
        """Index of the first hit of the page."""
        return (self.page - 1) * self.per_page

    def sort_field(self) -> tuple[str, bool] | None:
        """``(field, descending)`` for a field sort, ``None`` for relevance."""
        if self.sort in ("", "relevance"):
            return None
        return (self.sort[1:], True) if self.sort.startswith("-") else (self.sort, False)

    def check(self, schema: Schema) -> None:
        """Raise ``ValueError`` when the query names fields the schema cannot filter, facet or sort on."""
        kw = set(schema.keyword_fields)
        ranged = set(schema.numeric_fields) | set(schema.date_fields)
        bad = (set(self.filters) - kw - set(self.range_facets)) | (set(self.facets) - kw) | (set(self.ranges) - ranged)
        bad |= {n for n, (f, _b) in self.range_facets.items() if f not in ranged or n in kw or not _NAME.match(n)}
        bad |= set(self.highlight_fields) - set(schema.text_fields)
        sort = self.sort_field()
        if sort and sort[0] not in ranged:
            bad.add(sort[0])
        if bad:
            raise ValueError(f"fields not usable that way in {schema.name!r}: {sorted(bad)}")


@dataclass(frozen=True)
class Unit:
    """A word (its tokens all required, anywhere) or a quoted phrase (its tokens side by side in one field)."""

    tokens: tuple[str, ...]
    phrase: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """``q`` as the backends run it: every group of ``must`` (an OR of units) and none of ``must_not``."""

    must: tuple[tuple[Unit, ...], ...] = ()
    must_not: tuple[Unit, ...] = ()

    @property
    def simple(self) -> bool:
        """Plain words only: every token required (the fast path, tokens counted once)."""
        return not self.must_not and all(len(g) == 1 and not g[0].phrase for g in self.must)

    def tokens(self) -> list[str]:
        """The tokens a document may match (for ranking and highlighting), each once, in query order."""
        from .analysis import unique

        return unique([t for group in self.must for unit in group for t in unit.tokens])


_QUERY_PIECE = re.compile(r'"([^"]*)"?|(\S+)')
_SPACED_IPC = re.compile(r"(?i)(?<![a-z0-9])([a-h]\d{2}[a-z])\s+(\d{1,4})\s*/\s*(\d{1,6})(?![a-z0-9])")


def parse_query(q: str) -> ParsedQuery:
    """Read the operators of ``q`` (see the module docstring). A stray operator is ignored."""
    from .analysis import tokens

    q = _SPACED_IPC.sub(r"\1\2/\3", q or "")  # "H01M 10/052" is one word
    must: list[list[Unit]] = []
    must_not: list[Unit] = []
    negate = join = False
    for match in _QUERY_PIECE.finditer(q):
        quoted, word = match.group(1), match.group(2)
        if word in ("OR", "|"):
            join = bool(must)
            continue
        if word == "AND":
            continue
        if word == "NOT":
            negate = True
            continue
        if word and word.startswith("-") and len(word) > 1:
            negate, word = True, word[1:]
        found = tuple(tokens(quoted if quoted is not None else word))
        if found:
            unit = Unit(found, phrase=quoted is not None and len(found) > 1)
            if negate:
                must_not.append(unit)
            elif join:
                must[-1].append(unit)
            else:
                must.append([unit])
        negate = join = False
    return ParsedQuery(tuple(tuple(group) for group in must), tuple(must_not))


def range_buckets(schema: Schema, query: SearchQuery, name: str) -> list[tuple[str, Any, Any]]:
    """The buckets of range facet ``name`` with bounds in the stored form of its field."""
    field_name, buckets = query.range_facets[name]
    return [(key, *range_bounds(schema, field_name, (lo, hi))) for key, lo, hi in buckets]


@dataclass
class SearchResult:
    """Hits as ids in rank order (reload rows from the database), facet counts and highlighted snippets."""

    total: int
    ids: list[str]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    highlights: dict[str, dict[str, str]] = field(default_factory=dict)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Yield lists of up to ``size`` items."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class SearchBackend(ABC):
    """A search engine holding any number of indexes, each described by a :class:`Schema`."""

    @abstractmethod
    def ensure_index(self, schema: Schema) -> bool:
        """Create the index when missing (or recreate it empty when its schema changed); True if created."""

    @abstractmethod
    def index(self, schema_name: str, docs: Iterable[Mapping[str, Any]]) -> int:
        """Insert or replace documents (dicts with an ``"id"``); return how many were written."""

    @abstractmethod
    def delete(self, schema_name: str, ids: Iterable[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    result_cache: ResultCache | None = None  # facets and totals reused across pages (None: the default cache)

    def search(self, schema_name: str, query: SearchQuery) -> SearchResult:
        """Run a query; see the module docstring for the rules. Its facets and total are computed once per query and
        data version of the index (:mod:`search.cache`), then reused by its other pages and sorts."""
        cache = self.result_cache
        if cache is None:
            from .cache import ResultCache

            cache = self.result_cache = ResultCache()
        return cache.search(self, schema_name, query)

    @abstractmethod
    def run_search(self, schema_name: str, query: SearchQuery) -> SearchResult:
        """Run a query on the engine itself (no cache)."""

    def data_version(self, schema_name: str) -> Hashable | None:
        """A value that changes with every change of what searches of the index can see, read from the index itself
        (the same in every process using it); None when unknown (nothing is then cached)."""
        return None

    @abstractmethod
    def refresh(self, schema_name: str) -> None:
        """Make every write so far visible to searches."""

    @abstractmethod
    def clear(self, schema_name: str) -> None:
        """Remove every document of the index, keeping the index."""

    @abstractmethod
    def count(self, schema_name: str) -> int:
        """Number of documents in the index."""

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """A small status dict with at least ``{"ok": bool, "backend": str}``; never raises."""

    @abstractmethod
    def stamp(self, schema_name: str) -> dict[str, Any] | None:
        """The identity record kept with the index's content (what it was built from), or None: none written, or
        the index is missing. A rebuild writes it together with the content; a schema change drops it."""

    @abstractmethod
    def set_stamp(self, schema_name: str, stamp: Mapping[str, Any] | None) -> None:
        """Write (or, with None, remove) the identity record of an existing index."""

    def drop(self, schema_name: str) -> None:
        """Delete the index itself (tests and schema changes)."""
        self.clear(schema_name)

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""

    def rebuild(self, schema: Schema, docs: Iterable[Mapping[str, Any]], batch_size: int = 500,
                stamp: Mapping[str, Any] | None = None) -> int:
        """Replace the whole content of the index with ``docs`` (a full reindex from the database) and its identity
        record with ``stamp``.

        This generic version clears then writes; backends override it to swap atomically.
        """
        self.ensure_index(schema)
        self.clear(schema.name)
        written = sum(self.index(schema.name, chunk) for chunk in batched(docs, batch_size))
        self.set_stamp(schema.name, stamp)
        self.refresh(schema.name)
        return written
