"""Database set-up shared by `market init-db`, `market demo` and the tests."""

from __future__ import annotations

from market.db import db
from market.migrate import upgrade
from market.outbox import database_identity
from market.reference.loader import load_reference


def init_db() -> dict[str, int]:
    """Migrate to the newest schema and load missing reference rows. Call inside an app context."""
    upgrade(db.engine)
    counts = load_reference(db.session)
    database_identity(db.session)  # made once: search indexes built from this database carry it
    db.session.commit()
    return counts
