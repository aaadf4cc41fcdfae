"""A busy or unreachable database gives a clear 503 saying nothing was saved, never a raw 500."""

from __future__ import annotations

import sqlite3

from sqlalchemy import func, select

from market.accounts.models import User
from market.db import db


def test_locked_sqlite_database_gives_a_clear_503_and_saves_nothing(make_app, tmp_path):
    app = make_app()
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with app.app_context():
        db.engine.dispose()
        # Shorten the wait so the test does not sit through the production busy_timeout.
        from sqlalchemy import event

        @event.listens_for(db.engine, "connect")
        def _short_timeout(dbapi_connection, record):
            dbapi_connection.execute("PRAGMA busy_timeout=200")

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        client = app.test_client()
        response = client.post("/signup", data={
            "role": "bidder", "name": "赵六", "email": "zhao@example.cq", "password": "Chongqing2026x",
            "confirm": "Chongqing2026x",
        })
        assert response.status_code == 503
        assert "数据库繁忙或暂时无法连接" in response.get_data(as_text=True)
        assert response.headers["Retry-After"] == "5"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
    # Recovered: the same request now succeeds.
    response = app.test_client().post("/signup", data={
        "role": "bidder", "name": "赵六", "email": "zhao@example.cq", "password": "Chongqing2026x",
        "confirm": "Chongqing2026x",
    })
    assert response.status_code == 302
