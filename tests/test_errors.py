"""A busy or unreachable database gives a clear 503 saying nothing was saved, never a raw 500."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from market.accounts.models import User
from market.db import db
from tests.conftest import PG_URL


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


@pytest.mark.skipif(not PG_URL, reason="MARKET_TEST_POSTGRESQL_URL not set")
def test_a_value_the_database_refuses_is_a_422_and_nothing_is_kept(make_app):
    """PostgreSQL refuses a number too large for an INTEGER column (DataError): the request was wrong, not the
    server; the write made before it in the same request is rolled back."""
    from sqlalchemy import text

    from market.accounts.models import Organisation, OrgKind
    from market.db import utcnow

    app = make_app(url=PG_URL)

    def overflow():
        db.session.add(Organisation(kind=OrgKind.BANK, name="溢出测试银行", credit_code="91500000MA5U000000",
                                    created_at=utcnow()))
        db.session.flush()
        db.session.execute(text("SELECT CAST(:v AS INTEGER)"), {"v": 2**40})
        return "unreachable"

    app.add_url_rule("/api/v1/_overflow", "overflow", overflow, methods=["POST"])
    app.add_url_rule("/_overflow", "overflow_page", overflow, methods=["POST"])
    client = app.test_client()
    r = client.post("/api/v1/_overflow")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_value"
    assert "未保存" in r.get_json()["error"]["message"]
    r = client.post("/_overflow")
    assert r.status_code == 422 and "未保存" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)
                                 .where(Organisation.name == "溢出测试银行")) == 0
