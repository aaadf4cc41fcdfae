"""The needs index: published needs searchable through `search/` with facets, kept in step by the shared outbox
(`market.outbox`: `search_outbox` rows with index_name "needs", queued by the session hook in the transaction of
every change to what the documents read, `WATCHES`) on the app's one backend. Only needs a bank may see (published,
in talks) are in the index; any other state deletes the document.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from market.needs.models import PUBLIC_STATUSES, Need
from market.outbox import indexes, sync
from market.outbox.backend import get_backend
from market.outbox.indexes import DrainResult, Watch
from search import Schema, SearchBackend

__all__ = ["INDEX_NAME", "OUTBOX_INDEX", "SCHEMA", "WATCHES", "DrainResult", "all_documents", "document", "drain",
           "get_backend", "indexable", "quick_drain", "reindex"]

INDEX_NAME = "needs"
SCHEMA = Schema(
    INDEX_NAME,
    text_fields={"title": 3.0, "purpose": 1.0, "org_name": 1.0},
    keyword_fields=("industry", "group", "amount_band", "ip_kind", "district", "ipc_section", "ipc_class", "status"),
    numeric_fields=("amount", "term"),
    date_fields=("published_at",),
)


def indexable(need: Need) -> bool:
    return need.status in PUBLIC_STATUSES


def document(need: Need) -> dict:
    return {
        "id": str(need.id),
        "title": need.title,
        "purpose": need.purpose,
        "org_name": need.org.name if need.org else "",
        "industry": need.industry_code[:2] if need.industry_code else None,
        "group": list(need.group_codes or []),
        "amount_band": need.amount_band,
        "ip_kind": list(need.ip_kinds or []),
        "district": need.district_code,
        "ipc_section": list(need.ipc_sections or []),
        "ipc_class": list(need.ipc_classes or []),
        "status": need.status.value,
        "amount": need.amount,
        "term": need.term_months,
        "published_at": need.published_at,
    }


class NeedDocuments:
    """The needs index's documents for the outbox: public needs only."""

    def __init__(self, session: Session, now: datetime | None = None):
        self.session = session

    def documents(self, ids: Sequence[int]) -> list[dict]:
        needs = indexes.load_by_id(self.session, Need, ids, selectinload(Need.org))
        return [document(needs[i]) for i in sorted(needs) if indexable(needs[i])]

    def all_documents(self, batch_size: int = 500) -> Iterator[dict]:
        for need in indexes.each_by_id(self.session, Need, selectinload(Need.org),
                                      where=[Need.status.in_(PUBLIC_STATUSES)], batch_size=batch_size):
            yield document(need)


def _needs_of(session: Session, orgs: list) -> object:
    return select(Need.id).where(Need.org_id.in_([org.id for org in orgs]))


# What a need document reads (see `document`).
WATCHES = (
    Watch("need", ("title", "purpose", "org_id", "industry_code", "group_codes", "amount_band", "ip_kinds",
                   "district_code", "ipc_sections", "ipc_classes", "status", "amount", "term_months",
                   "published_at")),
    Watch("organisation", ("name",), _needs_of),
)

OUTBOX_INDEX = indexes.OutboxIndex(SCHEMA, NeedDocuments, "Needs index", watches=WATCHES, table="need",
                                   visible=lambda: (Need.status.in_(PUBLIC_STATUSES),))


def drain(session: Session, backend: SearchBackend, limit: int = 1_000_000, batch_size: int = 500) -> DrainResult:
    """Apply the needs rows of the outbox in id order; keeps them (counting the attempt) when the engine is down.
    Only flushes; the caller commits."""
    return sync.drain(session, backend, OUTBOX_INDEX, limit, batch_size=batch_size)


def all_documents(session: Session, batch_size: int = 500) -> Iterator[dict]:
    return NeedDocuments(session).all_documents(batch_size)


def reindex(session: Session, backend: SearchBackend) -> int:
    """Rebuild the needs index from the database; the needs outbox rows queued before are then obsolete."""
    return sync.reindex(session, backend, OUTBOX_INDEX)


def quick_drain(limit: int = 200) -> DrainResult | None:
    """After a web write: bring the needs index up to date; never raises (the outbox keeps what is left)."""
    return sync.quick_drain(OUTBOX_INDEX, limit)
