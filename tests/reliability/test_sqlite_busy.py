"""SQLite busy: another connection holds the write lock (BEGIN IMMEDIATE) while the app writes.

Released within the busy timeout: the app waits and succeeds. Held beyond it: a clear 503 page or JSON error that
says nothing was saved (no trace), no half-written rows, and the next request works.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, func, select

from market.accounts.models import Role
from market.db import db
from market.ip.models import IpAsset
from market.outbox.models import SearchOutbox
from tests.reliability.helpers import login, make_user

BUSY_MS = 1500  # a short busy timeout for this app only, so the "held too long" case runs in seconds


@pytest.fixture
def busy_app(make_app, tmp_path):
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"), PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "checkout")
        def _short_timeout(dbapi_connection, record, proxy):
            dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_MS}")

        engine.dispose()
    return app


def holder(app) -> sqlite3.Connection:
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.1, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    return conn


_numbers = itertools.count(1)


def asset_form(title: str) -> dict:
    """A valid patent for POST /ip/new (a fresh publication number each time)."""
    return {"kind": "invention", "title": title, "legal_status": "granted", "ipc_codes": "H01M",
            "publication_number": f"CN1{next(_numbers) + 40000000 * os.getpid() % 10**8:08d}A"}


def counts(app) -> tuple[int, int]:
    with app.app_context():
        assets = db.session.scalar(select(func.count()).select_from(IpAsset))
        outbox = db.session.scalar(select(func.count()).select_from(SearchOutbox))
        db.session.rollback()
        return assets, outbox


@pytest.mark.parametrize("holder_writes", [False, True], ids=["lock-only", "holder-writes"])
def test_write_waits_for_a_lock_released_in_time(busy_app, holder_writes):
    _, email = make_user(busy_app, Role.ENTERPRISE)
    client = busy_app.test_client()
    login(client, email)
    before = counts(busy_app)
    conn = holder(busy_app)
    if holder_writes:  # another writer changes the database while holding the lock (a real concurrent write)
        conn.execute("UPDATE organisation SET name = name || '' WHERE id = (SELECT min(id) FROM organisation)")

    def release():
        time.sleep(BUSY_MS / 3000)
        conn.execute("COMMIT")

    t = threading.Thread(target=release)
    t.start()
    started = time.perf_counter()
    response = client.post("/ip/new", data=asset_form("等锁释放后保存的专利"))
    waited = time.perf_counter() - started
    t.join()
    conn.close()
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert waited >= BUSY_MS / 3000 * 0.8  # it really waited for the lock
    assets, _ = counts(busy_app)
    assert assets == before[0] + 1


def test_lock_held_too_long_gives_a_clear_503_and_saves_nothing(busy_app):
    _, email = make_user(busy_app, Role.ENTERPRISE)
    client = busy_app.test_client()
    login(client, email)
    before = counts(busy_app)
    conn = holder(busy_app)
    try:
        response = client.post("/ip/new", data=asset_form("不应保存的专利"))
        html = response.get_data(as_text=True)
        api = client.post("/api/v1/tokens", json={"email": email, "password": "correct-horse-42"})
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert response.status_code == 503, html[:800]
    assert "本次操作未保存任何内容" in html or "Nothing was saved" in html
    assert "Traceback" not in html and "OperationalError" not in html and "database is locked" not in html
    # The API says the same as JSON (a token issue is a write).
    assert api.status_code == 503, api.get_data(as_text=True)[:500]
    assert api.get_json()["error"]["code"] == "database_unavailable"
    assert counts(busy_app) == before  # nothing half-written: no asset, no orphan outbox row

    # Recovery: the lock is gone, the same request now works.
    response = client.post("/ip/new", data=asset_form("锁释放后保存的专利"))
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assets, _ = counts(busy_app)
    assert assets == before[0] + 1
