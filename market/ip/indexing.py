"""The patent index: its schema, its document shape and what the documents read (`WATCHES`); drain, full reindex
and change capture through the shared outbox (`market.outbox`).

The database is the source of truth. Every change to a watched column (an asset's own fields, its owner's
district and industry, a valuation report, the policy's eligible kinds, the IPC titles) queues the affected
patents in the same transaction, through the session hook in `market.outbox`; no service calls an enqueue.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from market.areas import collect
from market.ip import numbers
from market.ip.models import IpAsset
from market.ip.service import INDEX_NAME, eligible_kinds_in_force
from market.outbox import indexes, sync
from market.outbox import models as outbox_models
from market.outbox.backend import get_backend, init_app
from market.outbox.indexes import DrainResult, Watch
from market.reference.choices import IPC_SECTION_ZH
from market.reference.models import IpcTitle
from search import Schema, SearchBackend, SearchError

__all__ = ["INDEX_NAME", "OUTBOX_INDEX", "SCHEMA", "WATCHES", "DocBuilder", "DrainResult", "alert_saved_searches",
           "all_documents", "drain", "get_backend", "init_app", "lag", "quick_drain", "reindex"]

log = logging.getLogger(__name__)

SCHEMA = Schema(
    INDEX_NAME,
    text_fields={"title": 3.0, "abstract": 1.0, "applicants": 1.0, "ipc_titles": 1.0, "numbers": 4.0},
    keyword_fields=("kind", "legal_status", "pledge_state", "ipc_section", "ipc_class", "ipc_subclass", "district",
                    "industry", "owner", "pledgeable_kind", "frozen"),
    numeric_fields=("valuation",),
    date_fields=("filing_date", "expiry_date", "created_at"),
)
# `numbers` holds what a loan officer pastes first: the publication number, the application number and every level
# of every IPC code (see `number_text`); the shared analysis makes each form of them one token.
# Remaining life is not stored: the "life_band" facet is computed at query time from expiry_date and today
# (finder.life_bands), so the index never goes stale as time passes.


# ---------------------------------------------------------------------------------------------- documents


_REFERENCES = re.compile(r"\([^()]*\)")


def own_title(title: str | None) -> str:
    """An IPC title without its parenthesised references to other places ("… (batteries H01M; …)"): those words
    and codes describe other subclasses, so `H01M` or `battery` would find H01L solar modules."""
    previous = None
    while title and title != previous:
        previous, title = title, _REFERENCES.sub("", title)
    return " ".join((title or "").split())


def ipc_levels(code: str) -> list[str]:
    """Every level of an IPC code, ``H01M10/0525`` → section ``H``, class ``H01``, subclass ``H01M``, main group
    ``H01M10`` and ``H01M10/00``, and the group by its leading digits ``H01M10/05``, ``H01M10/052``,
    ``H01M10/0525`` (a query for a group finds the groups below it)."""
    code = code.replace(" ", "").upper()
    levels = [code[:1], code[:3], code[:4]]
    main, slash, group = code[4:].partition("/")
    if main:
        levels += [code[:4] + main, f"{code[:4]}{main}/00"]
        if slash:
            levels += [f"{code[:4]}{main}/{group[:n]}" for n in range(2, len(group) + 1)]
    return list(dict.fromkeys(level for level in levels if level))


def number_text(asset: IpAsset) -> str:
    """The `numbers` text of a patent document."""
    parts = [asset.publication_number or "", numbers.format_application_number(asset.application_number)]
    for code in asset.ipc_codes or []:
        parts += ipc_levels(code)
    return " ".join(p for p in parts if p)



class DocBuilder:
    """Builds index documents; caches reference lookups for a batch."""

    def __init__(self, session: Session, today: date):
        self.session = session
        self.today = today
        self.kinds = eligible_kinds_in_force(session, today)
        self._titles: dict[str, str] | None = None
        self._values: dict[str, dict[int, object]] | None = None

    def values(self) -> dict[str, dict[int, object]]:
        """The fields higher areas add to every document (`patent_values` contributions: e.g. the amount of each
        asset's latest valuation report in force today), loaded once per batch."""
        if self._values is None:
            self._values = {name: load(self.session, self.today) for name, load in collect("patent_values")}
        return self._values

    def ipc_titles(self, codes: list[str]) -> str:
        if self._titles is None:
            self._titles = {row.symbol: own_title(row.title_en) for row in self.session.scalars(select(IpcTitle))}
        parts = []
        for code in codes:
            for symbol in {code[:1], code[:3], code[:4]}:
                title = self._titles.get(symbol)
                if title and title not in parts:
                    parts.append(title)
            zh = IPC_SECTION_ZH.get(code[:1])
            if zh and zh not in parts:
                parts.append(zh)
        return " ; ".join(parts)

    def document(self, asset: IpAsset) -> dict:
        codes = list(asset.ipc_codes or [])
        org = asset.owner
        return {
            "id": str(asset.id),
            "title": asset.title,
            "abstract": asset.abstract,
            "applicants": asset.applicants,
            "ipc_titles": self.ipc_titles(codes),
            "numbers": number_text(asset),
            "kind": asset.kind.value,
            "legal_status": asset.legal_status.value,
            "pledge_state": asset.pledge_state.value,
            "ipc_section": sorted({c[:1] for c in codes}),
            "ipc_class": sorted({c[:3] for c in codes if len(c) >= 3}),
            "ipc_subclass": sorted({c[:4] for c in codes if len(c) >= 4}),
            "district": org.district_code if org else None,
            "industry": org.industry_code[:2] if org and org.industry_code else None,
            "owner": str(org.id) if org else None,
            "pledgeable_kind": asset.kind in self.kinds,
            "frozen": bool(asset.frozen),
            "filing_date": asset.filing_date,
            "expiry_date": numbers.expiry_date(asset.kind, asset.filing_date),
            "created_at": asset.created_at,  # saved searches alert on patents created since their last check
        } | {name: values.get(asset.id) for name, values in self.values().items()}

    def documents(self, ids: Sequence[int]) -> list[dict]:
        """Documents of the assets among `ids` that still exist (every asset is in the index), in id order."""
        assets = indexes.load_by_id(self.session, IpAsset, ids, selectinload(IpAsset.owner))
        return [self.document(assets[i]) for i in sorted(assets)]

    def all_documents(self, batch_size: int = 1000) -> Iterator[dict]:
        for asset in indexes.each_by_id(self.session, IpAsset, selectinload(IpAsset.owner), batch_size=batch_size):
            yield self.document(asset)


def alert_saved_searches(session: Session, backend: SearchBackend, now: datetime) -> int:
    """Saved searches: notify banks of new matching patents (a search engine failure only postpones it)."""
    from market.ip.saved import check_saved_searches

    try:
        with session.begin_nested():
            return check_saved_searches(session, backend, now)
    except SearchError:
        log.warning("saved-search alerts postponed: search engine unavailable", exc_info=True)
        return 0


def _owned_by(session: Session, orgs: list) -> object:
    return select(IpAsset.id).where(IpAsset.owner_org_id.in_([org.id for org in orgs]))


def _valued(session: Session, valuations: list) -> list[int]:
    return [valuation.asset_id for valuation in valuations]


def _every_asset(session: Session, rows: list) -> object:
    return select(IpAsset.id)


# What a patent document reads (see DocBuilder.document). Tables of areas above `ip` are named, not imported.
WATCHES = (
    Watch("ip_asset", ("title", "abstract", "applicants", "ipc_codes", "kind", "legal_status", "pledge_state",
                       "owner_org_id", "frozen", "filing_date", "created_at", "application_number",
                       "publication_number")),
    Watch("organisation", ("district_code", "industry_code"), _owned_by),
    Watch("valuation", ("asset_id", "amount", "status", "valuation_date", "valid_until", "issued_at",
                        "withdrawn_at"), _valued),
    Watch("loan_policy", ("eligible_kinds", "effective_from", "effective_to"), _every_asset),
    Watch("ipc_title", ("title_en",), _every_asset),
)

OUTBOX_INDEX = indexes.OutboxIndex(SCHEMA, lambda session, now: DocBuilder(session, now.date()), "Patent index",
                                   watches=WATCHES, table="ip_asset", version=3,
                                   on_caught_up=alert_saved_searches)


# ------------------------------------------------------------------------------------------------- drain


def drain(session: Session, backend: SearchBackend, limit: int = 10_000_000, *, now: datetime | None = None,
          batch_size: int = 500) -> DrainResult:
    """Apply up to `limit` patent outbox rows in id order. Stops (keeping the rows) when the engine is unavailable;
    alerts saved searches after a drain that left nothing. Only flushes; the caller commits."""
    return sync.drain(session, backend, OUTBOX_INDEX, limit, now=now, batch_size=batch_size)


def all_documents(session: Session, today: date, batch_size: int = 1000) -> Iterator[dict]:
    return DocBuilder(session, today).all_documents(batch_size)


def reindex(session: Session, backend: SearchBackend, now: datetime | None = None) -> int:
    """Rebuild the patent index from the database (outbox rows queued before the rebuild started are then
    obsolete), then alert saved searches."""
    return sync.reindex(session, backend, OUTBOX_INDEX, now)


def quick_drain(limit: int = 200) -> DrainResult | None:
    """After a web write: try to bring the patent index up to date; never raises (the outbox keeps what is left)."""
    return sync.quick_drain(OUTBOX_INDEX, limit)


def lag(session: Session, now: datetime | None = None) -> tuple[int, float | None]:
    """(patent outbox size, age of the oldest row in seconds)."""
    return outbox_models.lag(session, INDEX_NAME, now)
