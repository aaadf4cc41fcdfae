"""Browsing published needs with filters and facet counts: through the `needs` search index (`search_needs`, full
text in Chinese and facets). The database stays the source of truth: hits are reloaded and only public needs are
shown.

When the engine is down, needs answer like patents: 503 with a clear message (the app's SearchUnavailable
handler), never a different answer computed another way; writes keep waiting in the outbox. `browse_needs` is the
same query in SQL, kept for checks of the index against the database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from market.ip.finder import search_in_hit_order
from market.needs.indexing import OUTBOX_INDEX
from market.needs.models import PUBLIC_STATUSES, Need
from search import SearchQuery
from search.base import MAX_RESULT_WINDOW

FACET_COLUMNS = (Need.industry_code, Need.amount_band, Need.district_code, Need.group_codes, Need.ip_kinds,
                 Need.ipc_sections, Need.ipc_classes)
FACETS = ("industry", "group", "amount_band", "ip_kind", "district", "ipc_section", "ipc_class")
LIST_COLUMNS = {"group": Need.group_codes, "ip_kind": Need.ip_kinds, "ipc_section": Need.ipc_sections,
                "ipc_class": Need.ipc_classes}


@dataclass
class BrowseResult:
    total: int
    page: int
    per_page: int
    items: list[Need]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    engine: str = "database"  # "search" when the index answered

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _contains(column, value: str):
    # JSON lists are stored as text on both SQLite and PostgreSQL; a quoted value is an exact element match.
    return cast(column, String).like(f'%"{value}"%')


def _conditions(filters: dict[str, str], skip: str | None = None) -> list:
    conds = [Need.status.in_(PUBLIC_STATUSES)]
    for key, value in filters.items():
        if not value or key == skip:
            continue
        value = value.replace('"', "").replace("%", "") if key in LIST_COLUMNS else value
        if key == "industry":
            conds.append(Need.industry_code.startswith(value, autoescape=True))
        elif key == "amount_band":
            conds.append(Need.amount_band == value)
        elif key == "district":
            conds.append(Need.district_code == value)
        elif key in LIST_COLUMNS:
            conds.append(_contains(LIST_COLUMNS[key], value))
        elif key == "q":
            like = f"%{value}%"
            conds.append(or_(Need.title.like(like), Need.purpose.like(like)))
    return conds


def _facet_values(need: Need, facet: str) -> list[str]:
    if facet == "industry":
        return [need.industry_code[:2]] if need.industry_code else []
    if facet == "amount_band":
        return [need.amount_band] if need.amount_band else []
    if facet == "district":
        return [need.district_code] if need.district_code else []
    return list(getattr(need, {"group": "group_codes", "ip_kind": "ip_kinds", "ipc_section": "ipc_sections",
                               "ipc_class": "ipc_classes"}[facet]) or [])


def browse_needs(session: Session, filters: dict[str, str], page: int = 1, per_page: int = 20) -> BrowseResult:
    """Published and in-talks needs matching `filters`, newest first, with disjunctive facet counts (a facet's
    counts ignore that facet's own filter, so every choice shows how many it would give)."""
    filters = {k: (v or "").strip() for k, v in filters.items() if k in FACETS or k == "q"}
    page = max(1, page)
    per_page = max(1, min(per_page, 100))
    conds = _conditions(filters)
    total = session.scalar(select(func.count()).select_from(Need).where(*conds)) or 0
    items = list(session.scalars(select(Need).where(*conds).order_by(Need.published_at.desc(), Need.id.desc())
                                 .limit(per_page).offset((page - 1) * per_page)))
    facets: dict[str, list[tuple[str, int]]] = {}
    for facet in FACETS:
        counter: Counter[str] = Counter()
        for row in session.execute(select(*FACET_COLUMNS).where(*_conditions(filters, skip=facet))):
            counter.update(_facet_values(row, facet))
        facets[facet] = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return BrowseResult(total, page, per_page, items, facets)


def _clean(filters: dict[str, str]) -> dict[str, str]:
    return {k: (v or "").strip() for k, v in filters.items() if (k in FACETS or k == "q") and (v or "").strip()}


def search_needs(session: Session, backend, filters: dict[str, str], page: int = 1, per_page: int = 20,
                 catch_up: bool = False) -> BrowseResult:
    """Published needs through the search index: `q` in full text (title ×3, purpose, enterprise name; Chinese by
    bigrams, so 电池 finds 锂电池), keyword filters with disjunctive facet counts, newest first without `q`.
    Raises SearchUnavailable when the engine is down (see the module docstring); `catch_up` as in
    `market.outbox.searching.search`."""
    filters = _clean(filters)
    per_page = max(1, min(per_page, 100))
    page = max(1, min(page, MAX_RESULT_WINDOW // per_page))  # a page past the engine's window shows its last page
    q = filters.pop("q", "")
    if "industry" in filters:
        filters["industry"] = filters["industry"][:2]
    query = SearchQuery(
        q=q, filters={k: [v] for k, v in filters.items()} | {"status": [s.value for s in PUBLIC_STATUSES]},
        facets=FACETS, sort="relevance" if q else "-published_at", page=page, per_page=per_page)
    hit, rows, _lag = search_in_hit_order(session, backend, OUTBOX_INDEX, query, Need, catch_up=catch_up)
    items = [n for n in rows if n.status in PUBLIC_STATUSES]
    return BrowseResult(hit.total, page, per_page, items, {k: list(v) for k, v in hit.facets.items()}, "search")
