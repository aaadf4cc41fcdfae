"""What an outbox index is (its schema, what its documents read, how they are built), every index of the areas,
and the row loaders the document builders share."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from market.db import Base
from search import Schema, SearchBackend


class DocumentBuilder(Protocol):
    """Builds the documents of one index for one drain or rebuild (it may cache lookups for that run)."""

    def documents(self, ids: Sequence[int]) -> list[dict]:
        """The documents of those ids (ascending) that belong in the index now; an id left out is deleted from it."""
        ...

    def all_documents(self) -> Iterator[dict]:
        """Every document the index should hold, read from the database in batches."""
        ...


# The documents affected by changed rows of a watched table: ids, or a SELECT of one id column. `rows` are ORM
# objects (a flush) or result rows with the table's columns (a bulk UPDATE/DELETE), read as attributes.
Affected = Callable[[Session, list[Any]], "Iterable[int] | Select"]


def own_ids(session: Session, rows: list[Any]) -> list[int]:
    """The rows are the documents (an index's own table)."""
    return [row.id for row in rows]


@dataclass(frozen=True)
class Watch:
    """An index reads `columns` of `table` (all columns when empty); `affected` names the documents to update when
    a row of it is inserted, deleted, or has one of those columns changed."""

    table: str
    columns: tuple[str, ...] = ()
    affected: Affected = own_ids


@dataclass(frozen=True)
class OutboxIndex:
    """One search index fed by the outbox."""

    schema: Schema
    builder: Callable[[Session, datetime], DocumentBuilder]
    label: str  # for command output, e.g. "Patent index"
    # What the documents are made of; the session hook queues the affected documents of every change to these.
    watches: tuple[Watch, ...] = ()
    # The table whose ids are the document ids, and the condition a row needs to be in the index (for `search`).
    table: str = ""
    visible: Callable[[], Sequence[Any]] = field(default=lambda: ())
    version: int = 1  # bump when documents change shape without a schema change: existing indexes are rebuilt
    # Called after a drain that applied rows and left none, and after a rebuild (e.g. saved-search alerts).
    on_caught_up: Callable[[Session, SearchBackend, datetime], object] | None = None

    @property
    def name(self) -> str:
        return self.schema.name


@dataclass
class DrainResult:
    applied: int = 0  # outbox rows applied and deleted
    remaining: int = 0
    error: str | None = None



def load_by_id(session: Session, model, ids: Iterable[int], *options) -> dict[int, Any]:
    """The rows of `model` among `ids` (with loader `options`), by id; ids without a row are left out."""
    ids = list(ids)
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)).options(*options))}


def each_by_id(session: Session, model, *options, where=(), batch_size: int = 500) -> Iterator[Any]:
    """Every row of `model` matching `where`, in id order, read in batches of `batch_size` (keyset, no OFFSET)."""
    last = 0
    while True:
        rows = session.scalars(select(model).where(model.id > last, *where).order_by(model.id).limit(batch_size)
                               .options(*options)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


# ------------------------------------------------------------------------------------------------ indexes


def all_indexes() -> list[OutboxIndex]:
    """Every index fed by the outbox: `OUTBOX_INDEX` of each area's `indexing` module, in area order."""
    from market.areas import all_areas

    found = []
    for area in all_areas():
        package = area.__name__.rpartition(".")[0]
        if importlib.util.find_spec(f"{package}.indexing") is None:
            continue
        index = getattr(importlib.import_module(f"{package}.indexing"), "OUTBOX_INDEX", None)
        if index is not None:
            found.append(index)
    return found



def model_for(table: str):
    for mapper in Base.registry.mappers:
        if mapper.local_table.name == table:
            return mapper.class_
    raise LookupError(table)

