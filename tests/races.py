"""Shared pieces of the two-thread (or 30-thread) tests: every guarded check-then-write is raced on SQLite and on
PostgreSQL, each on a private app with its own database (real commits, real connections)."""

from __future__ import annotations

import os

from sqlalchemy import func, select

PG_URL_2 = os.environ.get("MARKET_TEST_POSTGRESQL_URL_2")  # a second database: the private app resets its schema
TARGETS = ["sqlite"] + (["postgresql"] if PG_URL_2 else [])


def private_app(make_app, target: str, **overrides):
    """A private app on SQLite (a file of its own) or on the second PostgreSQL database."""
    return make_app(**({"url": PG_URL_2} if target == "postgresql" else {}), **overrides)


def count(app, model, *where) -> int:
    """Rows of `model` matching `where`, read in a fresh app context (what the racing requests committed)."""
    from market.db import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))
