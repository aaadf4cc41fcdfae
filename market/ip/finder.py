"""Patent search for banks: query parameters → SearchQuery, hits reloaded from the database in hit order.

Shared by the search page, `GET /api/v1/patents` and the CSV export, so all three read parameters the same way.

English and mixed queries: every patent's index document carries the English titles of its IPC section, class
and subclass (and the Chinese section title), and English plurals are folded (`search.analysis`), so `battery`
or `电池 battery` finds H01M patents ("…e.g. BATTERIES…"). The limit: every query token must occur, the Chinese
titles are not translated and the IPC titles are short, so an English phrase finds a patent only when all its
words are in one of those texts — `lithium battery` finds nothing (no IPC title has both words), while
`锂电池 battery` does. There is no bilingual dictionary or synonym expansion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from market.accounts.models import Organisation
from market.dates import add_months
from market.errors import InvalidInput
from market.ip import numbers
from market.ip.indexing import OUTBOX_INDEX
from market.ip.labels import BAND_LABELS, VALUE_BAND_LABELS, kind_label, pledge_label, status_label
from market.ip.models import IpAsset, LegalStatus, PledgeState
from market.outbox import searching
from market.outbox.indexes import OutboxIndex, load_by_id
from market.reference.choices import IPC_SECTION_ZH
from market.reference.models import District, Industry, IpcTitle
from search import SearchBackend, SearchQuery, SearchResult

FACETS = ["ipc_section", "ipc_class", "ipc_subclass", "kind", "legal_status", "pledge_state", "life_band", "value_band",
          "district", "industry", "owner"]
SORTS = {"relevance": "relevance", "life": "-expiry_date", "life_asc": "expiry_date", "date": "-filing_date",
         "date_asc": "filing_date", "value": "-valuation", "value_asc": "valuation"}
# Valuation bands (元) of the latest valuation report in force, as range facets over the numeric field.
VALUE_BANDS = ("valuation", [("lt1m", None, 999_999.99), ("1m-5m", 1_000_000, 4_999_999.99),
                             ("5m-10m", 5_000_000, 9_999_999.99), ("10m+", 10_000_000, None)])
RANGE_FACETS = ("life_band", "value_band")
# What "pledgeable now" requires of a patent's index document (besides its remaining life).
PLEDGEABLE = {"legal_status": [LegalStatus.GRANTED.value], "pledge_state": [PledgeState.FREE.value],
              "frozen": ["false"], "pledgeable_kind": ["true"]}
MAX_PER_PAGE = 100


LIFE_BAND_YEARS = [("0-3", 0, 3), ("3-5", 3, 5), ("5-10", 5, 10), ("10+", 10, None)]


def life_bands(today: date) -> tuple[str, list[tuple[str, date | None, date | None]]]:
    """The remaining-life facet as ranges on expiry_date relative to ``today`` (inclusive bounds).

    "0" = expired before today; "0-3" = expires from today up to the day before today + 3 years; and so on.
    Computed per query, so the bands stay exact without a reindex as time passes.
    """
    day = timedelta(days=1)
    buckets: list[tuple[str, date | None, date | None]] = [("0", None, today - day)]
    for key, lo, hi in LIFE_BAND_YEARS:
        buckets.append((key, add_months(today, 12 * lo), add_months(today, 12 * hi) - day if hi else None))
    return ("expiry_date", buckets)


def _int(args, name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidInput("The parameter %(name)s must be a whole number.", name=name) from None
    if not lo <= value <= hi:
        raise InvalidInput("The parameter %(name)s must be between %(lo)s and %(hi)s.", name=name, lo=lo, hi=hi)
    return value


@dataclass
class PatentSearch:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    pledgeable: bool = False
    term_months: int = 12
    margin_months: int = 6

    def as_args(self) -> dict:
        """The canonical query-string form (for links)."""
        args: dict = {"q": self.q, "sort": self.sort, "per_page": self.per_page}
        args.update({k: v for k, v in self.filters.items() if v})
        if self.pledgeable:
            args.update(pledgeable=1, term_months=self.term_months, margin_months=self.margin_months)
        return args

    def toggled(self, name: str, value: str) -> dict:
        """Query args with `value` added to (or removed from) the filter `name`, back on page 1."""
        args = self.as_args()
        current = list(self.filters.get(name, []))
        args[name] = [v for v in current if v != value] if value in current else current + [value]
        return args


def parse_params(args, *, max_per_page: int = MAX_PER_PAGE) -> PatentSearch:
    """Read request args (a MultiDict); raise InvalidInput (422) for anything out of range."""
    q = (args.get("q") or "").strip()
    if len(q) > 200:
        raise InvalidInput("The search text is too long (200 characters at most).")
    sort = args.get("sort") or "relevance"
    if sort not in SORTS:
        raise InvalidInput("Unknown sort %(sort)s.", sort=sort[:40])
    filters: dict[str, list[str]] = {}
    for name in FACETS:
        values = [v.strip() for v in args.getlist(name) if v and v.strip()] if hasattr(args, "getlist") else []
        if any(len(v) > 40 for v in values) or len(values) > 50:
            raise InvalidInput("The filter %(name)s is not valid.", name=name)
        if values:
            filters[name] = values
    pledge_flag = (args.get("pledgeable") or "").lower()
    if pledge_flag not in ("", "0", "1", "true", "false", "on", "off"):
        raise InvalidInput("The parameter %(name)s must be 1 or 0.", name="pledgeable")
    return PatentSearch(
        q=q, filters=filters, sort=sort,
        page=_int(args, "page", 1, 1, 10_000),
        per_page=_int(args, "per_page", 20, 1, max_per_page),
        pledgeable=pledge_flag in ("1", "true", "on"),
        term_months=_int(args, "term_months", 12, 1, 360),
        margin_months=_int(args, "margin_months", 6, 0, 120),
    )


def build_query(params: PatentSearch, today: date, *, page: int | None = None, per_page: int | None = None,
                facets: bool = True) -> SearchQuery:
    filters = {k: list(v) for k, v in params.filters.items()}
    ranges = {}
    if params.pledgeable:
        for name, values in PLEDGEABLE.items():
            given = filters.get(name)
            filters[name] = ([v for v in values if v in given] or ["-none-"]) if given else values
        ranges["expiry_date"] = (add_months(today, params.term_months + params.margin_months), None)
    # "Pledgeable now" fixes these fields: their facets would only offer values that lead to nothing
    offered = [f for f in FACETS if f not in RANGE_FACETS and not (params.pledgeable and f in PLEDGEABLE)]
    page = page or params.page
    per_page = per_page or params.per_page
    if page * per_page > 10_000:
        raise InvalidInput("Results beyond the first 10,000 cannot be paged; narrow the search.")
    return SearchQuery(
        q=params.q, filters=filters, ranges=ranges,
        facets=offered if facets else (),
        range_facets={"life_band": life_bands(today), "value_band": VALUE_BANDS}, sort=SORTS[params.sort],
        page=page, per_page=per_page, highlight_fields=("title", "abstract", "applicants") if params.q else (),
    )


@dataclass
class Hits:
    total: int
    items: list[IpAsset]
    highlights: dict[int, dict[str, str]]
    facets: dict[str, list[tuple[str, int]]]
    lag: int = 0  # changes not yet in the index (the engine is behind)


def search_in_hit_order(session: Session, backend: SearchBackend, index: OutboxIndex, query: SearchQuery,
                        model, *options, catch_up: bool = False) -> tuple[SearchResult, list, int]:
    """The one "search, then reload in hit order" of the app indexes: `(result, rows, lag)`.

    Searches `index` (`market.outbox.searching.search`: never an id the database lacks; with `catch_up`, waiting
    changes are applied first and the session committed), then reloads the hits as rows of `model` (with loader
    `options`) in the order the engine ranked them; a hit without a row is left out."""
    query.check(index.schema)
    result, lag = searching.search(session, backend, index, query, catch_up_first=catch_up)
    ids = [int(i) for i in result.ids if i.isdigit()]
    rows = load_by_id(session, model, ids, *options)
    return result, [rows[i] for i in ids if i in rows], lag


def run(session: Session, backend: SearchBackend, query: SearchQuery, *, catch_up: bool = False) -> Hits:
    """Patents matching `query`, reloaded from the database in hit order (see `search_in_hit_order`)."""
    result, items, lag = search_in_hit_order(session, backend, OUTBOX_INDEX, query, IpAsset,
                                             joinedload(IpAsset.owner), catch_up=catch_up)
    return Hits(
        total=result.total, items=items,
        highlights={int(k): v for k, v in result.highlights.items() if k.isdigit()}, facets=result.facets, lag=lag,
    )


def facet_labels(session: Session, facets: dict[str, list[tuple[str, int]]]) -> dict[str, dict[str, str]]:
    """Display labels for facet values (IPC titles, district/industry/owner names, enum labels)."""
    labels: dict[str, dict[str, str]] = {}
    ref = reference_names(session)
    titles = ipc_titles(session, {v for name, buckets in facets.items() if name.startswith("ipc_")
                                  for v, _n in buckets})
    for name, buckets in facets.items():
        values = [v for v, _n in buckets]
        if not values:
            labels[name] = {}
        elif name.startswith("ipc_"):
            labels[name] = {v: f"{v} {titles[v]}" if v in titles else v for v in values}
        elif name == "district":
            labels[name] = {v: ref["district"][v] for v in values if v in ref["district"]}
        elif name == "industry":
            labels[name] = {v: f"{v} {ref['industry'][v]}" for v in values if v in ref["industry"]}
        elif name == "owner":
            ids = [int(v) for v in values if v.isdigit()]
            rows = session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all()
            labels[name] = {str(i): n for i, n in rows}
        elif name == "kind":
            labels[name] = {v: str(kind_label(v)) for v in values}
        elif name == "legal_status":
            labels[name] = {v: str(status_label(v)) for v in values}
        elif name == "pledge_state":
            labels[name] = {v: str(pledge_label(v)) for v in values}
        elif name == "life_band":
            labels[name] = {v: str(BAND_LABELS.get(v, v)) for v in values}
        elif name == "value_band":
            labels[name] = {v: str(VALUE_BAND_LABELS.get(v, v)) for v in values}
    return labels


_REFERENCE: dict[str, dict[str, dict]] = {}


def reference_names(session: Session) -> dict[str, dict]:
    """IPC titles, district and industry names: reference data loaded from the shipped data sets, read once per
    process and database (facet labels then cost no query)."""
    bind = session.get_bind()
    key = str(getattr(bind, "engine", bind).url)  # a Session may be bound to a Connection (tests) or an Engine
    cached = _REFERENCE.get(key)
    if cached is None:
        cached = {
            "ipc": {s: (en, zh) for s, en, zh in session.execute(
                select(IpcTitle.symbol, IpcTitle.title_en, IpcTitle.title_zh))},
            "district": dict(session.execute(select(District.code, District.name)).all()),
            "industry": dict(session.execute(select(Industry.code, Industry.name)).all()),
        }
        if not all(cached.values()):
            return cached  # not loaded yet (an empty database): do not keep
        _REFERENCE[key] = cached
    return cached


def ipc_titles(session: Session, symbols: set[str]) -> dict[str, str]:
    """Titles of IPC symbols in the current language. In Chinese a class or subclass without a Chinese title
    shows its section's (the data has Chinese titles for sections only), never the English one."""
    if not symbols:
        return {}
    zh = str(get_locale() or "").startswith("zh")
    known = reference_names(session)["ipc"]
    titles = {}
    for symbol in symbols:
        title_en, title_zh = known.get(symbol, (None, None))
        if zh:
            title = title_zh or known.get(symbol[:1], (None, None))[1] or IPC_SECTION_ZH.get(symbol[:1])
        else:
            title = title_en
        if title:
            titles[symbol] = title
    return titles


def item_dict(asset: IpAsset, today: date, highlight: dict[str, str] | None = None) -> dict:
    years = numbers.remaining_years(asset.kind, asset.filing_date, today)
    expiry = numbers.expiry_date(asset.kind, asset.filing_date)
    return {
        "id": asset.id,
        "publication_number": asset.publication_number,
        "application_number": numbers.format_application_number(asset.application_number) or None,
        "title": asset.title,
        "kind": asset.kind.value,
        "ipc": list(asset.ipc_codes or []),
        "legal_status": asset.legal_status.value,
        "legal_status_raw": asset.legal_status_raw,
        "pledge_state": asset.pledge_state.value,
        "frozen": asset.frozen,
        "applicants": asset.applicants,
        "owner": asset.owner.name if asset.owner else None,
        "filing_date": asset.filing_date.isoformat() if asset.filing_date else None,
        "grant_date": asset.grant_date.isoformat() if asset.grant_date else None,
        "expiry_date": expiry.isoformat() if expiry else None,
        "remaining_years": years,
        "highlight": highlight or {},
    }
