"""Writing to the audit log. Services call `record` in the same transaction as the change it describes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from market.audit.models import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """The named attributes of a model as JSON-safe values, for `before`/`after`."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def record(
    session: Session,
    *,
    actor,
    action: str,
    entity_type: str,
    entity_id: Any,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Append one audit entry. `actor` is a User or None for the system (CLI, ticks)."""
    entry = AuditEntry(
        at=now,
        actor_id=getattr(actor, "id", None),
        actor_label=actor.email if actor is not None else "system",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        note=note,
    )
    session.add(entry)
    return entry
