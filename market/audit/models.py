"""The append-only audit log: every state change, who made it, when, and the values before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str] = mapped_column(String(60), index=True)
    entity_id: Mapped[str] = mapped_column(String(60), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(1000))


class AppendOnlyViolation(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
def _no_update(mapper, connection, target):
    raise AppendOnlyViolation("audit entries are append-only")


@event.listens_for(AuditEntry, "before_delete")
def _no_delete(mapper, connection, target):
    raise AppendOnlyViolation("audit entries are append-only")
