"""Explicit state machines: one place lists each entity's states and the transitions allowed between them, and
`StateMachine.move` is the one way a state changes (check, snapshot, set, flush, audit).

Each area keeps its machines in `<area>/states.py`:

    LISTING = StateMachine("listing", {...}, entity_type="listing", fields=FIELDS)
    LISTING.move(session, actor, listing, ListingStatus.ANNOUNCED, now, note=...)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from market.audit.service import record, snapshot
from market.errors import InvalidTransition


class StateMachine:
    """Allowed transitions of one entity kind, checked before any state change is written.

    `name` is the entity as users read it in a refusal ("This listing cannot go from ..."); `entity_type` is the
    audit log's name of the table (default `name`); `fields` are the attributes the audit entry keeps before and
    after; `attribute` holds the state; `stamp`, when the object has it, is set to `now` on every move; the audit
    action is `<action_prefix>.<new state>` (default prefix `entity_type`) unless a move names its own."""

    def __init__(self, name: str, transitions: Mapping[Enum, Iterable[Enum]], *, entity_type: str | None = None,
                 fields: Sequence[str] = (), attribute: str = "status", stamp: str | None = "updated_at",
                 action_prefix: str | None = None):
        self.name = name
        self.transitions = {src: frozenset(dsts) for src, dsts in transitions.items()}
        self.entity_type = entity_type or name
        self.fields = list(fields) or [attribute]
        self.attribute = attribute
        self.stamp = stamp
        self.action_prefix = action_prefix or self.entity_type

    def allowed(self, src: Enum, dst: Enum) -> bool:
        return dst in self.transitions.get(src, frozenset())

    def check(self, src: Enum, dst: Enum) -> None:
        if not self.allowed(src, dst):
            raise InvalidTransition(
                "This %(entity)s cannot go from %(src)s to %(dst)s.",
                entity=self.name,
                src=src.value,
                dst=dst.value,
            )

    def move(self, session: Session, actor, obj: Any, to: Enum, now: datetime, *, note: str | None = None,
             action: str | None = None, also: Mapping[str, Any] | None = None) -> None:
        """Move `obj` to `to`: check the transition, snapshot, set the state (with the stamp and the `also`
        attributes), flush, and audit the change. A refused move writes nothing. `actor` is None for the system."""
        self.check(getattr(obj, self.attribute), to)
        before = snapshot(obj, self.fields)
        setattr(obj, self.attribute, to)
        if self.stamp is not None and hasattr(obj, self.stamp):
            setattr(obj, self.stamp, now)
        for key, value in (also or {}).items():
            setattr(obj, key, value)
        session.flush()
        record(session, actor=actor, action=action or f"{self.action_prefix}.{to.value}",
               entity_type=self.entity_type, entity_id=obj.id, now=now, before=before,
               after=snapshot(obj, self.fields), note=note)
