"""Smoke tests proving that the services CI starts are the real thing.

Each test talks to one real component named by an environment variable (see .ci/run):

* ``MARKET_TEST_POSTGRESQL_URL``    -- PostgreSQL 15, through SQLAlchemy + psycopg
* ``MARKET_TEST_ELASTICSEARCH_URL`` -- Elasticsearch, through the official ``elasticsearch`` client
* ``MARKET_TEST_CHROMIUM``          -- Debian's Chromium, driven by Playwright with ``executable_path``
* ``MARKET_TEST_REDIS_URL``         -- Debian's redis-server, through the ``redis`` client (the rate-limit store)

A test skips when its variable is unset, unless ``MARKET_TEST_REQUIRE_SERVICES=1``, in which case
it fails: in CI a missing service must never turn into a silent skip.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

CHINESE_TEXT = "知识产权质押融资"


def _service_env(name: str) -> str:
    """Return the env var's value; skip (or fail under MARKET_TEST_REQUIRE_SERVICES=1) if unset."""
    value = os.environ.get(name, "").strip()
    if not value:
        if os.environ.get("MARKET_TEST_REQUIRE_SERVICES", "").strip() == "1":
            pytest.fail(f"{name} is not set but MARKET_TEST_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(f"{name} is not set")
    return value


def _artifacts_dir(tmp_path: Path) -> Path:
    configured = os.environ.get("MARKET_ARTIFACTS_DIR", "").strip()
    directory = Path(configured) if configured else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _elasticsearch_client(url: str):
    """An ``elasticsearch`` client that speaks the server's major version.

    The 9.x client sends ``compatible-with=9`` media types, which an 8.x server (the integ-test
    distribution CI fetches from Maven Central is 8.x) refuses; for an older server the client asks
    for that server's major instead, the same way :mod:`search.elastic` does.
    """
    from elasticsearch import Elasticsearch, __versionstr__

    probe = Elasticsearch(url, request_timeout=30)
    try:
        resp = probe.transport.perform_request(
            "GET", "/_nodes/_local?filter_path=nodes.*.version", headers={"accept": "application/json"}
        )
    finally:
        probe.close()
    server_version = next(iter(resp.body["nodes"].values()))["version"]
    server_major = int(server_version.split(".")[0])
    if server_major >= int(__versionstr__.split(".")[0]):
        return Elasticsearch(url, request_timeout=30), server_version

    media_type = re.compile(r"application/(json|x-ndjson)")
    compat = rf"application/vnd.elasticsearch+\1; compatible-with={server_major}"

    class _Compat(Elasticsearch):
        def perform_request(self, method, path, *, headers=None, **kwargs):  # type: ignore[override]
            if headers:
                headers = {
                    k: media_type.sub(compat, v) if k.lower() in ("accept", "content-type") else v
                    for k, v in headers.items()
                }
            return super().perform_request(method, path, headers=headers, **kwargs)

    return _Compat(url, request_timeout=30), server_version


@pytest.mark.postgresql
def test_postgresql_is_real_postgresql_15() -> None:
    url = _service_env("MARKET_TEST_POSTGRESQL_URL")
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            version = conn.execute(text("select version()")).scalar_one()
            assert version.startswith("PostgreSQL 15"), version
            assert conn.execute(text("show server_encoding")).scalar_one() == "UTF8"
            # Chinese text survives a server round trip unchanged.
            echoed = conn.execute(text("select cast(:s as text) || '✓'"), {"s": CHINESE_TEXT}).scalar_one()
            assert echoed == CHINESE_TEXT + "✓"
            # A real write in a temporary table.
            conn.execute(text("create temporary table ci_smoke (id serial primary key, name text not null)"))
            conn.execute(text("insert into ci_smoke (name) values (:n)"), {"n": CHINESE_TEXT})
            assert conn.execute(text("select name from ci_smoke")).scalar_one() == CHINESE_TEXT
            conn.rollback()
    finally:
        engine.dispose()


@pytest.mark.elasticsearch
def test_elasticsearch_round_trip() -> None:
    url = _service_env("MARKET_TEST_ELASTICSEARCH_URL")
    es, server_version = _elasticsearch_client(url)
    assert int(server_version.split(".")[0]) >= 8, server_version

    index = f"ci-smoke-{uuid.uuid4().hex}"
    with es:
        health = es.cluster.health(wait_for_status="yellow", timeout="30s")
        assert health["status"] in {"green", "yellow"}, health
        es.indices.create(
            index=index,
            settings={"number_of_shards": 1, "number_of_replicas": 0},
            mappings={
                "properties": {
                    "title": {"type": "text", "analyzer": "standard"},
                    "patent_no": {"type": "keyword"},
                }
            },
        )
        try:
            doc = {"title": f"{CHINESE_TEXT} pledge", "patent_no": "ZL2020100001.1"}
            es.index(index=index, id="1", document=doc)
            es.index(index=index, id="2", document={"title": "unrelated trademark", "patent_no": "TM-42"})
            es.indices.refresh(index=index)

            hits = es.search(index=index, query={"match": {"title": "质押"}})["hits"]
            assert hits["total"]["value"] == 1, hits
            assert hits["hits"][0]["_id"] == "1"
            assert hits["hits"][0]["_source"]["title"].startswith(CHINESE_TEXT)

            by_keyword = es.search(index=index, query={"term": {"patent_no": "ZL2020100001.1"}})["hits"]
            assert [h["_id"] for h in by_keyword["hits"]] == ["1"]
        finally:
            es.indices.delete(index=index, ignore_unavailable=True)
        assert not es.indices.exists(index=index)


def test_redis_is_real_redis() -> None:
    url = _service_env("MARKET_TEST_REDIS_URL")
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        assert int(client.info("server")["redis_version"].split(".")[0]) >= 6
        key = f"ci-smoke-{uuid.uuid4().hex}"
        assert client.incr(key) == 1 and client.incr(key) == 2  # what a shared rate-limit counter does
        client.expire(key, 5)
        assert 0 < client.ttl(key) <= 5
        client.delete(key)
    finally:
        client.close()


@pytest.mark.browser
def test_chromium_renders_chinese_and_screenshots(tmp_path: Path, browser) -> None:
    """Uses the suite's one Playwright-driven Chromium (a second sync Playwright cannot run beside it)."""
    _service_env("MARKET_TEST_CHROMIUM")

    html = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>ci smoke</title>'
        '<body style="margin:16px;font:32px sans-serif">'
        f'<p id="zh">{CHINESE_TEXT}</p><p id="en">IP Pledge Market</p></body></html>'
    )
    shot = _artifacts_dir(tmp_path) / "ci-smoke-chromium.png"
    shot.unlink(missing_ok=True)

    context = browser.new_context(viewport={"width": 800, "height": 300})
    try:
        page = context.new_page()
        page.goto("data:text/html;charset=utf-8," + quote(html))
        assert page.title() == "ci smoke"
        assert page.text_content("#zh") == CHINESE_TEXT

        # Ask the renderer which platform fonts it really used: Chinese must not fall back to tofu.
        cdp = page.context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#zh"})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        families = [f["familyName"] for f in fonts]
        assert any("CJK" in name for name in families), families
        cdp.detach()

        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()

    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 2000, len(data)
