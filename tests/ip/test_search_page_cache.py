"""The patent search page: the cached results fragment is the uncached page, follows writes at once (this
connection, another connection, before and after the index drain), holds nothing of the user, and its facet
links are the URLs url_for builds. On SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qsl

import pytest
from flask import url_for
from sqlalchemy import create_engine, event, select, text, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from market.accounts.models import Role
from market.db import db, utcnow
from market.ip import finder, indexing, pagecache
from market.ip.importer import import_bytes
from market.ip.models import IpAsset, PledgeState
from tests.conftest import DATABASES, PG_URL, PG_URL_2, Factory

from .conftest import log_in

NOW = datetime(2026, 11, 28, 9, 30)
HEADER = "publication_number,kind_code,title,ipc_subclasses\n"
ROWS = ["CN300000001A,A,一种锂电池正极材料,H01M", "CN300000002U,U,一种电池散热外壳,H01M|F28D",
        "CN300000003A,A,一种电动汽车电池管理系统,B60L|H01M", "CN300000004U,U,一种水泵叶轮,F04D"]
QUERIES = ["/patents?q=电池", "/patents?q=电池&kind=invention&ipc_section=H", "/patents?q=电池&page=2&per_page=1",
           "/patents?q=电池&pledgeable=1&term_months=24", "/patents", "/patents?q=电池&sort=date&ipc_class=H01"]


@pytest.fixture(params=DATABASES)
def pageapp(request, make_app, tmp_path):
    if request.param == "postgresql" and not PG_URL_2:
        pytest.skip("MARKET_TEST_POSTGRESQL_URL_2 is not set")
    url = PG_URL if request.param == "postgresql" else None
    app = make_app(url=url, SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    with app.app_context():
        f = Factory(db.session)
        bank, staff, bank2 = f.user(Role.BANK, name="银行甲"), f.user(Role.STAFF), f.user(Role.BANK, name="银行乙")
        import_bytes(db.session, None, (HEADER + "\n".join(ROWS) + "\n").encode(), "p.csv", NOW)
        db.session.commit()
        sync()
        app.test_users = {"bank": bank.email, "staff": staff.email, "bank2": bank2.email}
    return app


def sync():
    indexing.drain(db.session, indexing.get_backend(), now=NOW)
    db.session.commit()


def client_of(app, who: str):
    client = app.test_client()
    log_in(client, app.test_users[who])
    return client


def masked(html: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1-", html)


def uncached(app, client, path: str) -> str:
    cache = app.extensions["ip_page_cache"]
    app.extensions["ip_page_cache"] = None
    try:
        return masked(client.get(path).get_data(as_text=True))
    finally:
        app.extensions["ip_page_cache"] = cache


def cached_equals_uncached(app, client, path: str) -> str:
    """Request twice (the second from the cache) and compare both with an uncached rendering.

    On PostgreSQL the stamp is the cluster's snapshot, which any write in any database of the server moves (other
    test runs share it): a hit is then likely, not certain, so it is asserted on SQLite only.
    """
    cache = app.extensions["ip_page_cache"]
    first = masked(client.get(path).get_data(as_text=True))
    hits = cache.hits
    second = masked(client.get(path).get_data(as_text=True))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert cache.hits == hits + 1, "the second request should come from the cache"
    fresh = uncached(app, client, path)
    assert first == second == fresh
    return second


def total(html: str) -> int:
    return int(re.search(r'data-test="total">\D*(\d+)', html).group(1))


def test_cached_page_is_the_uncached_page_in_both_languages(pageapp):
    client = client_of(pageapp, "bank")
    for path in QUERIES:
        page = cached_equals_uncached(pageapp, client, path)
        assert 'data-test="facets"' in page and 'data-test="save-search"' in page
    assert "正极材料" in client.get("/patents?q=电池").get_data(as_text=True)
    page = client.get("/patents").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/language/en", data={"csrf_token": token, "next": "/"})
    english = cached_equals_uncached(pageapp, client, "/patents?q=电池")
    assert "Patent search" in english and "Invention patent" in english and "专利检索" not in english
    # bad input is never cached and still explained
    r = client.get("/patents?page=abc")
    assert r.status_code == 422 and 'data-test="search-error"' in r.get_data(as_text=True)


def test_a_new_patent_and_a_pledge_change_show_at_once(pageapp):
    client = client_of(pageapp, "bank")
    path = "/patents?q=电池"
    before = cached_equals_uncached(pageapp, client, path)
    assert total(before) == 3
    with pageapp.app_context():
        import_bytes(db.session, None, (HEADER + "CN300000009A,A,一种固态电池电解质,H01M\n").encode(), "p.csv", NOW)
        db.session.commit()
        sync()
    after = cached_equals_uncached(pageapp, client, path)
    assert total(after) == 4 and "电解质" in after
    # a pledge (captured by the session hook): the row and the facet show it as soon as it is committed, since the
    # search applies the waiting change before it runs
    with pageapp.app_context():
        asset = db.session.scalar(select(IpAsset).where(IpAsset.publication_number == "CN300000001A"))
        asset.pledge_state = PledgeState.PLEDGED
        db.session.commit()
    first = client.get(path).get_data(as_text=True)  # applies the waiting change (a commit: a new data stamp)
    assert "pledge_state=pledged" in first
    pledged = cached_equals_uncached(pageapp, client, path)
    assert "status-pledged" in pledged and "pledge_state=pledged" in pledged


def test_a_write_by_another_connection_shows_at_once(pageapp):
    client = client_of(pageapp, "bank")
    path = "/patents?sort=date"  # no search text: titles come from the database rows, not from highlights
    cached_equals_uncached(pageapp, client, path)
    engine = create_engine(pageapp.config["SQLALCHEMY_DATABASE_URI"])  # another process, as far as the app knows
    try:
        with engine.begin() as conn:
            conn.execute(update(IpAsset).where(IpAsset.publication_number == "CN300000002U")
                         .values(title="一种电池散热外壳（改）"))
    finally:
        engine.dispose()
    page = cached_equals_uncached(pageapp, client, path)
    assert "散热外壳（改）" in page


def test_nothing_of_the_user_is_cached(pageapp):
    path = "/patents?q=电池"
    clients = {who: client_of(pageapp, who) for who in ("bank", "staff", "bank2")}  # log-ins write: first
    pages = {who: client.get(path).get_data(as_text=True) for who, client in clients.items()}
    if pageapp.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert pageapp.extensions["ip_page_cache"].hits == 2  # the results came from the cache for later users
    assert "银行甲" in pages["bank"] and "银行乙" not in pages["bank"]
    assert "银行乙" in pages["bank2"] and "银行甲" not in pages["bank2"]
    assert 'data-test="save-search"' in pages["bank"] and 'data-test="save-search"' not in pages["staff"]
    assert 'data-test="facets"' in pages["staff"] and total(pages["staff"]) == 3


def test_csrf_tokens_stay_per_session(make_app, tmp_path):
    app = make_app(WTF_CSRF_ENABLED=True, SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    with app.app_context():
        f = Factory(db.session)
        emails = [f.user(Role.BANK).email for _ in range(2)]
        import_bytes(db.session, None, (HEADER + "\n".join(ROWS) + "\n").encode(), "p.csv", NOW)
        db.session.commit()
        sync()
    from tests.conftest import PASSWORD

    clients = []
    for email in emails:  # log-ins write: both first, so the second page can come from the cache
        client = app.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
        r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 302
        clients.append(client)
    tokens = []
    for client in clients:
        page = client.get("/patents?q=电池").get_data(as_text=True)
        save = page[page.index('data-test="save-search"'):]
        tokens.append(re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', save).group(1))
    assert app.extensions["ip_page_cache"].hits == 1 and tokens[0] != tokens[1]
    for client, token in zip(clients, tokens, strict=True):  # each form carries its own session's token
        r = client.post("/patents/saved", data={"name": "电池", "query": "q=电池", "csrf_token": token})
        assert r.status_code == 302
    r = clients[0].post("/patents/saved", data={"name": "电池", "query": "q=电池", "csrf_token": tokens[1]})
    assert r.status_code == 400


def test_facet_links_are_what_url_for_builds(pageapp):
    client = client_of(pageapp, "bank")
    path = "/patents?q=电池 汽车&kind=invention&ipc_section=H&ipc_section=B&term_months=24&margin_months=3&sort=life"
    page = client.get(path).get_data(as_text=True)
    aside = page[page.index('data-test="facets"'):page.index('<section class="ip-results">')]
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', aside)]
    with pageapp.test_request_context(path):
        from flask import request

        params = finder.parse_params(request.args)
        hits = finder.run(db.session, indexing.get_backend(), finder.build_query(params, utcnow().date()))
        expected = [url_for("ip.search", **params.toggled(name, value))
                    for name in finder.FACETS for value, _n in (hits.facets.get(name) or [])[:12]]
    assert len(links) >= 5 and links == expected
    assert all(MultiDict(parse_qsl(link.split("?", 1)[1]))["q"] == "电池 汽车" for link in links)


def test_data_stamp_moves_with_writes_only(pageapp):
    with pageapp.app_context():
        first = pagecache.data_stamp(db.session)
        assert first is not None
        db.session.rollback()
        if pageapp.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):  # (PostgreSQL: see above)
            assert pagecache.data_stamp(db.session) == first  # reads alone change nothing
        db.session.rollback()
        engine = create_engine(pageapp.config["SQLALCHEMY_DATABASE_URI"])
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE ip_asset SET title = title || '.'"))
        finally:
            engine.dispose()
        second = pagecache.data_stamp(db.session)
        assert second != first  # another connection committed
        db.session.execute(update(IpAsset).values(frozen=False))  # own write, not committed: nothing to key on
        assert pagecache.data_stamp(db.session) is None
        db.session.rollback()  # rolled back: the data is the second state again
        if pageapp.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            assert pagecache.data_stamp(db.session) == second
        db.session.rollback()
        with db.session.begin_nested():  # inside a savepoint an outer transaction may hold uncommitted writes
            assert pagecache.data_stamp(db.session) is None
        db.session.rollback()


def test_a_stamp_read_after_a_commit_is_never_older_than_the_snapshot(pageapp):
    """A commit by another connection after this transaction's first read: the stamp restarts the snapshot, so the
    data read after the stamp includes that commit (a page stored under the new stamp is never the old one)."""
    with pageapp.test_request_context("/patents"):  # a GET: read transactions begin deferred
        title = db.session.scalar(select(IpAsset.title).where(IpAsset.publication_number == "CN300000004U"))
        engine = create_engine(pageapp.config["SQLALCHEMY_DATABASE_URI"])
        try:
            with engine.begin() as conn:
                conn.execute(update(IpAsset).where(IpAsset.publication_number == "CN300000004U")
                             .values(title="一种水泵叶轮（新）"))
            stamp = pagecache.data_stamp(db.session)
            with engine.connect() as conn:
                assert stamp == pagecache.data_stamp(Session(bind=conn))  # the same state, another connection
        finally:
            engine.dispose()
        now = db.session.scalar(select(IpAsset.title).where(IpAsset.publication_number == "CN300000004U"))
        assert (title, now) == ("一种水泵叶轮", "一种水泵叶轮（新）")
        db.session.rollback()


def _stamps_agree(app) -> bool:
    """Two connections read the stamp between two reads of a third that agree (nothing was written meanwhile):
    all three are equal."""
    with app.test_request_context("/patents"):  # a GET: read transactions begin deferred
        with db.engine.connect() as a, db.engine.connect() as b:
            sa, sb = Session(bind=a), Session(bind=b)
            for _attempt in range(50):
                first = pagecache.data_stamp(sa)
                sa.rollback()
                other = pagecache.data_stamp(sb)
                sb.rollback()
                again = pagecache.data_stamp(sa)
                sa.rollback()
                if first == again:
                    return other == first
    pytest.fail("the database never stood still for three statements")


def test_identical_requests_through_different_connections_hit(pageapp):
    """The stamp is the database's, not the connection's: the second request, served by a connection the first did
    not use, takes the page from the cache (per-connection stamps missed here). On PostgreSQL other sessions'
    writes on the shared server move the snapshot, so the pair is retried until the database stood still."""
    assert _stamps_agree(pageapp)
    client = client_of(pageapp, "bank")
    cache = pageapp.extensions["ip_page_cache"]
    with pageapp.app_context():
        engine = db.engine
    used: list = []
    listener = lambda dbapi_conn, record, proxy: used.append(dbapi_conn)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        for _attempt in range(20):
            used.clear()
            first = client.get("/patents?q=电池&per_page=2").get_data(as_text=True)
            seen = list(used)
            held = []
            try:  # take the connections the first request used out of the pool
                while not all(any(c is h.connection.dbapi_connection for h in held) for c in seen) and len(held) < 12:
                    held.append(engine.connect())
                hits, before = cache.hits, len(used)
                second = client.get("/patents?q=电池&per_page=2").get_data(as_text=True)
                served = used[before:]
            finally:
                for conn in held:
                    conn.close()
            assert served and not any(c is s for c in served for s in seen), "the second request used another one"
            if cache.hits == hits + 1:
                assert masked(first) == masked(second)
                return
            assert not pageapp.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"), "a miss on SQLite"
    finally:
        event.remove(engine, "checkout", listener)
    pytest.fail("the second request never came from the cache")


def test_the_cache_can_be_turned_off(make_app, tmp_path):
    app = make_app(IP_SEARCH_PAGE_CACHE=0, SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    assert app.extensions["ip_page_cache"] is None
    with app.app_context():
        email = Factory(db.session).user(Role.BANK).email
    client = app.test_client()
    log_in(client, email)
    assert client.get("/patents?q=电池").status_code == 200


def test_the_cache_keeps_a_bounded_number_of_pages():
    cache = pagecache.PageCache(size=3)
    for i in range(5):
        cache.put(i, str(i))
    assert len(cache) == 3 and cache.get(0) is None and cache.get(4) == "4"
    cache.get(2)
    cache.put(5, "5")  # 3 was the least recently used
    assert cache.get(3) is None and cache.get(2) == "2"
