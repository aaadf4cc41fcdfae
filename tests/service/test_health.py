"""`/healthz` says the process is up; `/readyz` reports the database, the search engine and the clocks, and is 503
until this process's scheduler runs and every clock is on time."""

from __future__ import annotations

import os
import time

from market.clock import start_scheduler


def test_healthz_and_readyz_without_a_scheduler(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json() == {"status": "ok", "pid": os.getpid()}
    ready = client.get("/readyz")
    body = ready.get_json()
    assert ready.status_code == 503 and body["status"] == "not ready"
    assert body["database"]["ok"] and body["search"]["ok"]
    assert "path" not in body["search"] and "url" not in body["search"]
    assert body["scheduler"]["ok"] is False and body["scheduler"]["running"] is False


def test_readyz_turns_ready_when_the_scheduler_runs(private_app):
    app = private_app
    client = app.test_client()
    assert client.get("/readyz").status_code == 503  # no clock has ever run
    scheduler = start_scheduler(app)
    try:
        deadline = time.monotonic() + 20
        while (response := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        body = response.get_json()
        assert response.status_code == 200, body
        assert body["scheduler"]["running"] and body["scheduler"]["late"] == []
        assert set(body["scheduler"]["clocks"]) == {"auctions", "loans", "needs"}
        assert body["scheduler"]["clocks"]["auctions"]["by"].endswith(f":{os.getpid()}")
    finally:
        scheduler.stop()
    assert not scheduler.is_alive()
    assert client.get("/readyz").get_json()["scheduler"]["running"] is False
