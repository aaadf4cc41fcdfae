"""Explicit state machines: one place lists each entity's states and the transitions allowed between them."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from market.errors import InvalidTransition


class StateMachine:
    """Allowed transitions of one entity kind, checked before any state change is written."""

    def __init__(self, name: str, transitions: dict[Enum, Iterable[Enum]]):
        self.name = name
        self.transitions = {src: frozenset(dsts) for src, dsts in transitions.items()}

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
