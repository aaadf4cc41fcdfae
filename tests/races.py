"""Shared pieces of the two-thread (or 30-thread) tests: every guarded check-then-write is raced on SQLite and on
PostgreSQL, each on a private app with its own database (real commits, real connections)."""

from __future__ import annotations

import os

from sqlalchemy import func, select

PG_URL_2 = os.environ.get("MARKET_TEST_POSTGRESQL_URL_2")  # a second database: the private app resets its schema
TARGETS = ["sqlite"] + (["postgresql"] if PG_URL_2 else [])


def private_app(make_app, target: str, **overrides):
    """A private app on SQLite (a file of its own) or on the second PostgreSQL database (its set-up seeds the
    policy, as `market init-db` does)."""
    return make_app(**({"url": PG_URL_2} if target == "postgresql" else {}), **overrides)


def count(app, model, *where) -> int:
    """Rows of `model` matching `where`, read in a fresh app context (what the racing requests committed)."""
    from market.db import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def widen_window(monkeypatch, module, name: str, parties: int, timeout: float = 2.0) -> None:
    """Hold each caller of `module.name` just after it returns until `parties` callers got there (or `timeout`
    passed): the racers' checks all run before any of them writes, so a check-then-write without a database guard
    fails every time instead of now and then. Nothing is faked: the real function runs; with a guard (a row lock
    taken inside it) the later callers wait in the database and the first one goes on after `timeout`."""
    import threading

    real = getattr(module, name)
    barrier = threading.Barrier(parties)

    def held(*args, **kwargs):
        result = real(*args, **kwargs)
        try:
            barrier.wait(timeout)
        except threading.BrokenBarrierError:
            pass
        return result

    monkeypatch.setattr(module, name, held)
