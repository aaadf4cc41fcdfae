"""The PostgreSQL connection dropped mid-request (the backend terminated from a second connection while the request's
transaction is open): a clear 503 that says nothing was saved, no half-written rows, and the next request works.
Also: every backend terminated between two requests, and the pool (pool_pre_ping) recovers without an error."""

from __future__ import annotations

import itertools
import os
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from market.accounts.models import Role
from market.db import db
from market.ip.models import IpAsset
from market.outbox.models import SearchOutbox
from tests.conftest import PG_URL, PG_URL_2, missing_service
from tests.reliability.helpers import CuttableProxy, login, make_user

pytestmark = pytest.mark.postgresql
_numbers = itertools.count(1)


@pytest.fixture
def pg_app(make_app, tmp_path):
    if not (PG_URL and PG_URL_2):
        missing_service("MARKET_TEST_POSTGRESQL_URL and MARKET_TEST_POSTGRESQL_URL_2 are needed")
    name = f"reliability-{uuid.uuid4().hex[:12]}"  # only this app's connections are ever terminated
    app = make_app(url=PG_URL, SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"), PROPAGATE_EXCEPTIONS=False,
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"application_name": name}})
    admin = create_engine(PG_URL_2)
    app.config["TEST_APPLICATION_NAME"] = name
    yield app, admin
    admin.dispose()


def asset_form(title: str) -> dict:
    return {"kind": "invention", "title": title, "legal_status": "granted", "ipc_codes": "H01M",
            "publication_number": f"CN1{(next(_numbers) + 7919 * os.getpid()) % 10**8:08d}A"}


def counts(app) -> tuple[int, int]:
    with app.app_context():
        result = (db.session.scalar(select(func.count()).select_from(IpAsset)),
                  db.session.scalar(select(func.count()).select_from(SearchOutbox)))
        db.session.rollback()
        return result


def terminate(admin, pid: int) -> None:
    with admin.connect() as conn:
        # Wait (up to 5 s) until the backend has really gone, so the request's next statement meets a dead socket.
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar() is True


@contextmanager
def dropped_before_insert(app, admin, table: str):
    """Within: the first `INSERT INTO <table>` of the app finds its connection terminated by the server (the request
    has read and opened its transaction by then). Yields the list that holds the terminated backend's pid."""
    with app.app_context():
        engine = db.engine
    fired = []

    @event.listens_for(engine, "before_cursor_execute")
    def kill_before_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}") and not fired:
            fired.append(conn.connection.dbapi_connection.info.backend_pid)
            terminate(admin, fired[0])

    try:
        yield fired
    finally:
        event.remove(engine, "before_cursor_execute", kill_before_insert)


def test_backend_terminated_inside_the_request_transaction(pg_app):
    app, admin = pg_app
    _, email = make_user(app, Role.ENTERPRISE)
    client = app.test_client()
    login(client, email)
    before = counts(app)
    with dropped_before_insert(app, admin, "ip_asset") as fired:
        response = client.post("/ip/new", data=asset_form("连接中断时提交的专利"))
    html = response.get_data(as_text=True)
    assert fired, "the INSERT was never reached"
    assert response.status_code == 503, html[:800]
    assert "本次操作未保存任何内容" in html or "Nothing was saved" in html
    assert "Traceback" not in html and "psycopg" not in html and "terminating connection" not in html
    assert counts(app) == before  # nothing half-written

    # The next request works: the dead connection was discarded by the pool.
    response = client.post("/ip/new", data=asset_form("恢复后提交的专利"))
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert counts(app)[0] == before[0] + 1


def test_api_request_gets_json_503_when_the_connection_drops(pg_app):
    app, admin = pg_app
    _, email = make_user(app, Role.ENTERPRISE)
    client = app.test_client()
    with dropped_before_insert(app, admin, "api_token") as fired:
        response = client.post("/api/v1/tokens", json={"email": email, "password": "correct-horse-42"})
    assert fired, "the token INSERT was never reached"
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["error"]["code"] == "database_unavailable"
    assert "Nothing was saved" in body["error"]["message"] or "未保存" in body["error"]["message"]
    response = client.post("/api/v1/tokens", json={"email": email, "password": "correct-horse-42"})
    assert response.status_code in (200, 201) and response.get_json()["token"]


def test_backends_terminated_between_requests_pool_pre_ping_recovers(pg_app):
    app, admin = pg_app
    _, email = make_user(app, Role.ENTERPRISE)
    client = app.test_client()
    login(client, email)
    assert client.get("/ip/mine").status_code == 200
    with admin.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": app.config["TEST_APPLICATION_NAME"]}).scalar()
    assert killed >= 1  # the app's pooled connection(s) are gone
    assert client.get("/ip/mine").status_code == 200
    response = client.post("/ip/new", data=asset_form("连接池恢复后提交的专利"))
    assert response.status_code == 302, response.get_data(as_text=True)[:800]


def test_database_unreachable_for_a_logged_in_user_gives_a_clear_503(make_app, tmp_path):
    if not (PG_URL and PG_URL_2):
        missing_service("MARKET_TEST_POSTGRESQL_URL and MARKET_TEST_POSTGRESQL_URL_2 are needed")
    real = make_url(PG_URL_2)
    proxy = CuttableProxy(f"{real.host}:{real.port or 5432}")
    through_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = make_app(url=PG_URL_2, SQLALCHEMY_DATABASE_URI=through_proxy, PROPAGATE_EXCEPTIONS=False,
                   SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    _, email = make_user(app, Role.ENTERPRISE)
    client = app.test_client()
    login(client, email)
    before = counts(app)
    proxy.cut()  # the database server is unreachable: every pooled connection reset, new ones refused
    try:
        page = client.get("/ip/mine")
        post = client.post("/ip/new", data=asset_form("数据库不可达时提交的专利"))
    finally:
        proxy.restore()
    for response in (page, post):
        html = response.get_data(as_text=True)
        assert response.status_code == 503, html[:500]
        assert "Nothing was saved" in html or "未保存" in html
    assert counts(app) == before
    assert client.get("/ip/mine").status_code == 200  # recovery once it is reachable again
    proxy.close()
