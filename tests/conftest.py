"""Shared fixtures: the app on every configured database, a rolled-back session per test, factories, clients.

The suite runs on SQLite always and, when MARKET_TEST_POSTGRESQL_URL is set, on PostgreSQL too (every test that
uses `app` is parametrised over both). With MARKET_TEST_REQUIRE_SERVICES=1 (CI), missing services fail tests.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import scoped_session, sessionmaker

from market import create_app
from market.accounts.models import ROLE_ORG_KIND, Organisation, OrgStatus, Role, User
from market.bootstrap import init_db
from market.db import db
from market.demo import credit_code
from market.security import hash_password

PG_URL = os.environ.get("MARKET_TEST_POSTGRESQL_URL")
PG_URL_2 = os.environ.get("MARKET_TEST_POSTGRESQL_URL_2")
REQUIRE_SERVICES = os.environ.get("MARKET_TEST_REQUIRE_SERVICES") == "1"


def missing_service(why: str) -> None:
    """A test service is not there (`why`): skip the test, or fail it under MARKET_TEST_REQUIRE_SERVICES=1 (CI
    must run it)."""
    missing_service(why)
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
PASSWORD = "correct-horse-42"
NOW = datetime(2026, 11, 28, 9, 30)
_hashed = hash_password(PASSWORD)  # argon2 is deliberately slow: hash once for all test users
_seq = count(1)


# The guard against tests that mix the fixed test date (NOW) with the wall clock: the whole run reads a wall clock
# this many days ahead of the real one (time-machine, ticking), so such a test fails on every day, not on some.
# MARKET_TEST_CLOCK_SHIFT_DAYS=0 runs on the real clock.
CLOCK_SHIFT_DAYS = int(os.environ.get("MARKET_TEST_CLOCK_SHIFT_DAYS", "366"))
_clock_shift = None


def pytest_configure(config):
    global _clock_shift
    if CLOCK_SHIFT_DAYS and _clock_shift is None:
        import time_machine

        _clock_shift = time_machine.travel(datetime.now(UTC) + timedelta(days=CLOCK_SHIFT_DAYS), tick=True)
        _clock_shift.start()


def pytest_unconfigure(config):
    global _clock_shift
    if _clock_shift is not None:
        _clock_shift.stop()
        _clock_shift = None


@pytest.fixture
def at_now():
    """The wall clock at the fixed test date NOW (ticking), for a test whose pages or API read the app clock
    (`market.db.utcnow()`) against data built at NOW: both sides then read the same clock, on any real day."""
    import time_machine

    with time_machine.travel(NOW.replace(tzinfo=UTC), tick=True):
        yield NOW


def pytest_report_header(config):
    elasticsearch = os.environ.get("MARKET_TEST_ELASTICSEARCH_URL") or "-"
    return (f"databases: {', '.join(DATABASES)}; elasticsearch: {elasticsearch}; "
            f"wall clock shifted {CLOCK_SHIFT_DAYS} days ahead")


def base_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "market.test",
    }


def reset_postgresql(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build_app(url: str, **overrides):
    """A new app on `url` with the schema migrated and reference data loaded."""
    if url.startswith("postgresql"):
        reset_postgresql(url)
    app = create_app({**base_config(url), **overrides})
    with app.app_context():
        init_db()
    return app


@pytest.fixture(scope="session", params=DATABASES)
def app(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("db")
    url = f"sqlite:///{folder / 'test.sqlite3'}" if request.param == "sqlite" else PG_URL
    # Its own embedded search index: the default (instance/search.sqlite3) would be shared by every test app.
    application = build_app(url, SEARCH_EMBEDDED_PATH=str(folder / "search.sqlite3"))
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(tmp_path):
    """Factory for a private app (own database) when a test needs real commits, threads or other settings."""
    made = []

    def factory(**overrides):
        url = overrides.pop("url", None) or f"sqlite:///{tmp_path / f'private{len(made)}.sqlite3'}"
        if url == PG_URL:
            # The shared PostgreSQL database belongs to the session-wide `app`; a private app gets the second one.
            url = PG_URL_2 or pytest.fail("MARKET_TEST_POSTGRESQL_URL_2 is needed for a private PostgreSQL app")
        overrides.setdefault("SEARCH_EMBEDDED_PATH", str(tmp_path / f"search{len(made)}.sqlite3"))
        application = build_app(url, **overrides)
        made.append(application)
        return application

    yield factory
    for application in made:
        with application.app_context():
            db.engine.dispose()


class _TestSession(scoped_session):
    """One Session for the whole test, shared by the test body and every request it makes.

    Flask-SQLAlchemy removes the session after each request; here that only expires it, so the test's objects
    stay attached and show what the views committed. Commits are savepoints inside the test's outer transaction.
    """

    def remove(self):
        if self.registry.has():
            self.registry().expire_all()


@pytest.fixture
def session(app):
    """db.session bound to one outer transaction that is rolled back after the test.

    No app context stays pushed during the test: each request gets its own (and its own `g`), as in production.
    """
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    # A plain SQLAlchemy Session: Flask-SQLAlchemy's own Session ignores `bind` and would use the engine.
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", class_=OrmSession)
    db.session = _TestSession(factory, scopefunc=lambda: "test")
    try:
        yield db.session
    finally:
        db.session.registry().close()
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Factory:
    """Creates organisations and users directly (no audit noise), verified unless told otherwise."""

    def __init__(self, session):
        self.session = session

    def org(self, kind, name: str | None = None, status: OrgStatus = OrgStatus.VERIFIED, **fields) -> Organisation:
        n = next(_seq)
        org = Organisation(
            kind=kind, name=name or f"测试机构{n}", credit_code=credit_code(f"91500112MA5U{n:05d}"),
            status=status, created_at=NOW, verified_at=NOW if status is OrgStatus.VERIFIED else None,
            district_code=fields.pop("district_code", "500112"), industry_code=fields.pop("industry_code", "3841"),
            **fields,
        )
        self.session.add(org)
        self.session.commit()  # a savepoint: a view that rolls back its own work leaves the test's data alone
        return org

    def user(self, role: Role | str, org: Organisation | None | bool = True, **fields) -> User:
        role = Role(role)
        if org is True:
            org = self.org(ROLE_ORG_KIND[role])
        n = next(_seq)
        user = User(
            email=fields.pop("email", f"{role.value}{n}@example.cq"), password_hash=_hashed,
            name=fields.pop("name", f"{role.value}{n}"), role=role, organisation=org or None,
            locale=fields.pop("locale", "zh_CN"), active=True, session_version=1, created_at=NOW, **fields,
        )
        self.session.add(user)
        self.session.commit()
        return user


@pytest.fixture
def factory(session):
    return Factory(session)


@pytest.fixture
def bearer(session):
    """`bearer(user, scopes="read write")`: the Authorization header of a new API token of `user`."""
    from tests.factories import bearer

    return lambda user, scopes="read write": bearer(session, user, scopes)


def login(client, user: User, password: str = PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def login_as(client, factory):
    """Log the test client in as a new user of `role` (verified organisation) and return the user."""

    def do(role: Role | str, **kwargs) -> User:
        user = factory.user(role, **kwargs)
        login(client, user)
        return user

    return do


def dec(value) -> Decimal:
    return Decimal(str(value))


CHROMIUM = os.environ.get("MARKET_TEST_CHROMIUM")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = os.environ.get("MARKET_ARTIFACTS_DIR")


@pytest.fixture
def live_server(make_app):
    """The app served by waitress (the production server) on a free local port, with CSRF on. Yields (app, url)."""
    from tests.serving import serving

    application = make_app(WTF_CSRF_ENABLED=True, SERVER_NAME=None)
    with serving(application) as url:
        yield application, url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser). Skips, or fails in CI, without it."""
    if not CHROMIUM or not os.path.exists(CHROMIUM):
        missing_service("MARKET_TEST_CHROMIUM is not set")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page_for(browser, request):
    """New isolated browser contexts (one per person); console errors (e.g. CSP violations) fail the test."""
    contexts, errors = [], []

    def make(locale: str = "zh-CN"):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, errors


def fill_in(page, **values: str) -> None:
    """Type each value into the page's input of that name (`fill_in(page, email="a@b.cq", password="...")`)."""
    for name, value in values.items():
        page.fill(f"input[name={name}]", value)


def log_in_page(page, url: str, email: str, password: str = PASSWORD) -> None:
    """Log a browser page in through the log-in form (submitted with Enter); it lands on the workspace."""
    import re

    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r".*/workspace$"))


def screenshot(page, name: str) -> None:
    """Keep a screenshot as CI output (MARKET_ARTIFACTS_DIR), for people to look at."""
    if ARTIFACTS:
        os.makedirs(os.path.join(ARTIFACTS, "screenshots"), exist_ok=True)
        # A full-page capture scrolls; a field still focused afterwards is scrolled back into view on the next
        # mouse-down, which can move the page under the click. Nothing stays focused across a screenshot.
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.screenshot(path=os.path.join(ARTIFACTS, "screenshots", f"{name}.png"), full_page=True)


def in_threads(target, arguments: list[tuple], timeout: float | None = None) -> None:
    """Run `target(*args)` for each tuple of `arguments` in its own thread: all started, then all joined (each
    join waits at most `timeout` seconds). What the threads found is theirs to record."""
    import threading

    threads = [threading.Thread(target=target, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)


def post_at_once(app, emails: list[str], calls: list[tuple[str, dict | None]]) -> list[int]:
    """Race through the API: each e-mail gets a bearer token (POST /api/v1/tokens), then call i is posted with
    token i, all released at the same moment from their own threads and clients. The status codes, in call order."""
    import threading

    with app.test_client() as client:
        tokens = [client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).get_json()["token"]
                  for email in emails]
    barrier = threading.Barrier(len(calls))
    statuses: list[int | None] = [None] * len(calls)

    def run(index: int, token: str, path: str, body: dict | None) -> None:
        with app.test_client() as client:
            barrier.wait(timeout=10)
            statuses[index] = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"}).status_code

    in_threads(run, [(i, token, path, body) for i, (token, (path, body)) in enumerate(zip(tokens, calls, strict=True))],
               timeout=30)
    return statuses
