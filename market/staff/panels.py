"""Extra panels of the staff console (index lag, queues). Areas append (label, function) pairs."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

PANELS: list[tuple[object, Callable[[Session], object]]] = []


def console_panels(session: Session) -> list[dict]:
    from market.areas import collect

    return [{"label": label, "value": fn(session)} for label, fn in PANELS + collect("panels")]
