"""The outbox table (a pending change of a search index), this database's identity, and the queue's size."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from market.db import Base, enum_type, utcnow


class OutboxOp(enum.StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


class SearchOutbox(Base):
    """A pending change of a search index, written in the same transaction as the database change.

    `drain` applies rows in id order and deletes them only after the engine accepted them, so an engine that is
    down never loses a write. Every change adds a row (no upsert: a change committed while a drain runs keeps its
    own row, so the drain cannot delete it); a drain applies each document once per batch, as it is now in the DB.
    """

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    index_name: Mapped[str] = mapped_column(String(40), index=True)
    doc_id: Mapped[str] = mapped_column(String(40))
    op: Mapped[OutboxOp] = mapped_column(enum_type(OutboxOp), default=OutboxOp.UPSERT)
    created_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class DatabaseIdentity(Base):
    """One row naming this database (a random id made when its schema was first set up). Search indexes carry it,
    so an index built from another database, or from an earlier database at the same URL, is never used."""

    __tablename__ = "database_identity"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    identity: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]


def database_identity(session: Session) -> str:
    """This database's identity, created (in the caller's transaction) when missing."""
    found = session.scalar(select(DatabaseIdentity.identity).where(DatabaseIdentity.id == 1))
    if found is None:
        try:
            with session.begin_nested():
                session.add(DatabaseIdentity(id=1, identity=str(uuid.uuid4()), created_at=utcnow()))
        except IntegrityError:  # made meanwhile by another transaction
            pass
        found = session.scalar(select(DatabaseIdentity.identity).where(DatabaseIdentity.id == 1))
    return found



def enqueue(session: Session, index_name: str, doc_id: int | str, now: datetime,
            op: OutboxOp = OutboxOp.UPSERT) -> None:
    """Queue an index change of one document in the caller's transaction (committed or rolled back with it)."""
    session.add(SearchOutbox(index_name=index_name, doc_id=str(doc_id), op=op, created_at=now, attempts=0))


def pending(session: Session, index_name: str) -> int:
    return session.scalar(
        select(func.count()).select_from(SearchOutbox).where(SearchOutbox.index_name == index_name)
    ) or 0


def lag(session: Session, index_name: str, now: datetime | None = None) -> tuple[int, float | None]:
    """(outbox size of the index, age of its oldest row in seconds)."""
    now = now or utcnow()
    count, oldest = session.execute(
        select(func.count(), func.min(SearchOutbox.created_at)).where(SearchOutbox.index_name == index_name)
    ).one()
    return count or 0, ((now - oldest).total_seconds() if oldest else None)

