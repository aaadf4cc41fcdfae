"""Helpers for the tests that start the real server (`market serve`) as separate processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from market.db import utcnow
from tests.conftest import PG_URL, missing_service

ROOT = Path(__file__).resolve().parents[2]
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


def wall_now() -> datetime:
    """The real wall clock, as a server process reads it (the suite's own clock is shifted: tests/conftest.py)."""
    import time_machine

    hatch = time_machine.escape_hatch
    return hatch.datetime.datetime.now(UTC).replace(tzinfo=None) if hatch.is_travelling() else utcnow()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_url() -> str:
    url = os.environ.get("MARKET_TEST_REDIS_URL", "").strip()
    if not url:
        missing_service("MARKET_TEST_REDIS_URL is not set")
    return url


class Server:
    """`market serve ARGS` in a subprocess on a free port of 127.0.0.1; `stop()` ends it (and its workers)."""

    def __init__(self, database_url: str, *args: str, env: dict | None = None, tmp_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "MARKET_DATABASE_URL": database_url, "MARKET_SECRET_KEY": "serve-test",
                       "PYTHONPATH": str(ROOT), "MARKET_CLOCK_POLL_SECONDS": "0.5", **(env or {})}
        for name in ("MARKET_ELASTICSEARCH_URL", "MARKET_RATELIMIT_STORAGE_URI"):
            if name not in (env or {}):
                environment.pop(name, None)
        environment.setdefault("MARKET_SEARCH_INDEX_PREFIX", "serve-test")
        environment.setdefault("MARKET_SEARCH_EMBEDDED_PATH", str(tmp_path / "search.sqlite3"))
        self.log = tmp_path / f"server-{self.port}.log"
        code = "import sys; from market.cli import main; sys.argv = ['market', *sys.argv[1:]]; sys.exit(main())"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(self.port), *args],
                                         cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"the server did not answer /healthz in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {"Accept": "application/json", "Accept-Language": "en"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def get(self, path: str):
        return self.request("GET", path)

    def json(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        status, text = self.request(method, path, body, token)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, {"raw": text}

    def tail(self, n: int = 4000) -> str:
        """The end of the server's own log (for assertion messages)."""
        return self.log.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)  # the server's own process group (gunicorn's workers too)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)
