"""Database set-up shared by `market init-db`, `market demo` and the tests."""

from __future__ import annotations

from market.db import db, utcnow
from market.loans.fund import open_fund
from market.migrate import upgrade
from market.outbox.models import database_identity
from market.policy.seed import seed_policy
from market.reference.loader import load_reference


def init_db() -> dict[str, int]:
    """Migrate to the newest schema and load missing reference rows and the seed policy, and open the compensation
    fund. Call inside an app context."""
    upgrade(db.engine)
    counts = load_reference(db.session)
    now = utcnow()
    counts.update(seed_policy(db.session, now))
    counts.update(open_fund(db.session, now))  # the fund is opened here, so its pages and API only read
    database_identity(db.session)  # made once: search indexes built from this database carry it
    db.session.commit()
    return counts
