"""The clocks that run inside the server: open and close auctions, overdue loans, unanswered and old needs.

Each area contributes `clocks = [Clock(name, every, run)]` through its area.py; `run(session, now)` does one pass
(only flushes) and returns counts. `run_clock` runs one clock in its own transaction under a database lock, so two
processes never run the same clock at once:

- PostgreSQL: `pg_try_advisory_xact_lock` (or `pg_advisory_xact_lock` when told to wait), held until the commit;
- SQLite: the clock's row in `clock_runs` is updated first, in a BEGIN IMMEDIATE transaction, which holds the
  database's write lock until the commit.

Under the lock the runner reads the clock's row: a scheduled run skips a clock that some process ran less than
`every` seconds ago, so N server processes (N schedulers) together run each clock about once per `every`. The row
keeps the last run, its counts and its last error: `/readyz` reports them.

`Scheduler` is the thread `market serve` starts in each server process: every CLOCK_POLL_SECONDS it runs the
clocks that are due. `market tick` runs every clock once, now (waiting for the lock when another process holds it).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, DateTime, Integer, String, Text, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from market.db import Base, db, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clock:
    name: str
    every: float  # seconds between scheduled runs
    run: Callable[[Session, datetime], dict]
    summary: Callable[[dict], str] | None = None  # one line for `market tick`; default "k: v, ..."

    def describe(self, counts: dict | None) -> str:
        if counts is None:
            return f"{self.name}: skipped (another process holds its lock)"
        if self.summary is not None:
            return self.summary(counts)
        return f"{self.name}: " + ", ".join(f"{k}: {v}" for k, v in counts.items())


class ClockRun(Base):
    """One row per clock: the lock row on SQLite, and the record of the last run for every process."""

    __tablename__ = "clock_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_result: Mapped[dict | None] = mapped_column(JSON)
    holder: Mapped[str | None] = mapped_column(String(120))  # host:pid of the process that ran it last
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime)


def all_clocks(app=None) -> list[Clock]:
    """The areas' clocks, with `every` overridden by CLOCK_EVERY ({name: seconds}) when configured."""
    from flask import current_app

    from market.areas import collect

    overrides = (app or current_app).config.get("CLOCK_EVERY") or {}
    return [Clock(c.name, float(overrides.get(c.name, c.every)), c.run, c.summary) for c in collect("clocks")]


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lock_key(name: str) -> int:
    return zlib.crc32(f"market.clock.{name}".encode())


def _take_lock(session: Session, name: str, wait: bool) -> bool:
    """Take the clock's lock for the current transaction; False when another process holds it (and not `wait`)."""
    if session.get_bind().dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = session.execute(text(f"SELECT {fn}(:key)"), {"key": _lock_key(name)}).scalar()
        return wait or bool(got)
    # SQLite: writing the row first takes the database's write lock (queued up to busy_timeout) until the commit.
    if session.execute(update(ClockRun).where(ClockRun.name == name).values(holder=ClockRun.holder)).rowcount == 0:
        session.add(ClockRun(name=name, runs=0))
        session.flush()
    return True


def run_clock(session: Session, clock: Clock, now: datetime, *, force: bool = False) -> dict | None:
    """Run `clock` once in its own transaction (committed here) under its lock. None when skipped: another
    process holds the lock, or (unless `force`) the clock ran less than `every` seconds before `now`."""
    session.rollback()  # a fresh transaction: the lock lives exactly as long as this run
    try:
        if not _take_lock(session, clock.name, wait=force):
            session.rollback()
            return None
        row = session.get(ClockRun, clock.name, populate_existing=True)
        if row is None:
            row = ClockRun(name=clock.name, runs=0)
            session.add(row)
        elif not force and row.last_run_at is not None and row.last_run_at + timedelta(seconds=clock.every) > now:
            session.rollback()
            return None
        counts = clock.run(session, now)
        row.runs = (row.runs or 0) + 1
        row.last_run_at, row.last_result, row.holder = now, dict(counts or {}), holder_name()
        session.commit()
        return counts
    except OperationalError:
        session.rollback()
        if not force:  # the database is busy or down: the next scheduled pass tries again
            return None
        raise
    except Exception as exc:
        session.rollback()
        _record_error(session, clock.name, now, exc)
        raise


def _record_error(session: Session, name: str, now: datetime, exc: Exception) -> None:
    try:
        row = session.get(ClockRun, name) or ClockRun(name=name, runs=0)
        row.last_error, row.last_error_at = f"{type(exc).__name__}: {exc}"[:2000], now
        session.add(row)
        session.commit()
    except Exception:  # noqa: BLE001 - recording the error must not hide it
        session.rollback()


def run_all(session: Session, now: datetime | None = None, *, force: bool = True,
            only: str | None = None) -> dict[str, dict | None]:
    """Run every clock (or only one), each in its own transaction: {name: counts, or None when skipped}."""
    results: dict[str, dict | None] = {}
    for clock in all_clocks():
        if only is None or clock.name == only:
            results[clock.name] = run_clock(session, clock, now or utcnow(), force=force)
    return results


def echo_run(only: str | None = None) -> None:
    """`market tick` and its old per-area names: run the clocks now (waiting for a lock another process holds),
    retrying a few times when SQLite stays busy; one line per clock."""
    import click

    names = [c.name for c in all_clocks()]
    if only is not None and only not in names:
        raise click.ClickException(f"No clock named {only!r} (clocks: {', '.join(names)}).")
    for clock in all_clocks():
        if only is not None and clock.name != only:
            continue
        for attempt in range(5):
            try:
                counts = run_clock(db.session, clock, utcnow(), force=True)
                break
            except OperationalError:  # SQLite: the write lock stayed busy beyond busy_timeout
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        click.echo(clock.describe(counts))


def clock_status(session: Session, now: datetime) -> dict[str, dict]:
    """For /readyz: each clock's last run, counts and error, and whether it is late (no run in 2 × every + 30 s)."""
    rows = {r.name: r for r in session.scalars(select(ClockRun))}
    status = {}
    for clock in all_clocks():
        row = rows.get(clock.name)
        last = row.last_run_at if row else None
        status[clock.name] = {
            "every_seconds": clock.every,
            "last_run_at": last.isoformat() + "Z" if last else None,
            "last_result": row.last_result if row else None,
            "by": row.holder if row else None,
            "last_error": row.last_error if row else None,
            "late": last is None or now - last > timedelta(seconds=2 * clock.every + 30),
        }
    return status


class Scheduler(threading.Thread):
    """Runs the due clocks every `poll` seconds in this process (a daemon thread; `stop()` ends it)."""

    def __init__(self, app, poll: float) -> None:
        super().__init__(name="market-clocks", daemon=True)
        self.app, self.poll = app, poll
        self.started_at = utcnow()
        self.last_pass_at: datetime | None = None
        self.last_error: str | None = None
        self._stop_event = threading.Event()

    def run_pass(self) -> None:
        with self.app.app_context():
            for clock in all_clocks(self.app):
                try:
                    run_clock(db.session, clock, utcnow())
                except Exception as exc:  # noqa: BLE001 - one failing clock must not stop the others
                    self.last_error = f"{clock.name}: {type(exc).__name__}: {exc}"
                    log.exception("clock %s failed", clock.name)
            db.session.remove()
        self.last_pass_at = utcnow()

    def run(self) -> None:
        while not self._stop_event.is_set():
            started = time.monotonic()
            try:
                self.run_pass()
            except Exception as exc:  # noqa: BLE001 - e.g. the database is down: keep the thread alive
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("clock pass failed")
            self._stop_event.wait(max(0.0, self.poll - (time.monotonic() - started)))

    def stop(self, timeout: float = 10) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def report(self) -> dict:
        return {"running": self.is_alive(), "poll_seconds": self.poll,
                "started_at": self.started_at.isoformat() + "Z",
                "last_pass_at": self.last_pass_at.isoformat() + "Z" if self.last_pass_at else None,
                "last_error": self.last_error}


def start_scheduler(app) -> Scheduler | None:
    """Start this process's scheduler once (None when CLOCKS_ENABLED is false)."""
    if not app.config.get("CLOCKS_ENABLED", True):
        return None
    scheduler = app.extensions.get("clock_scheduler")
    if scheduler is None or not scheduler.is_alive():
        scheduler = Scheduler(app, float(app.config.get("CLOCK_POLL_SECONDS", 1.0)))
        app.extensions["clock_scheduler"] = scheduler
        scheduler.start()
    return scheduler
