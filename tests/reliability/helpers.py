"""Helpers for the fault-injection tests: users on a private app, `market ...` in a subprocess, a TCP proxy
that can be cut and restored."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

from market.accounts.models import Role
from market.db import db
from tests.conftest import PASSWORD, Factory

ROOT = Path(__file__).resolve().parents[2]


def make_user(app, role: Role | str, **fields):
    """A committed user (verified organisation) on a private app; returns (id, email)."""
    with app.app_context():
        user = Factory(db.session).user(role, **fields)
        db.session.commit()
        return user.id, user.email


def login(client, email: str) -> None:
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def run_market(args: list[str], database_url: str, timeout: float = 120, **env) -> subprocess.Popen:
    """Start `market ARGS` (the console script's code: `python -m market.cli`-equivalent) in a new process."""
    environment = {**os.environ, "MARKET_DATABASE_URL": database_url, "MARKET_SECRET_KEY": "reliability",
                   "PYTHONPATH": str(ROOT), **env}
    if "MARKET_ELASTICSEARCH_URL" not in env:
        environment.pop("MARKET_ELASTICSEARCH_URL", None)
    code = "import sys; from market.cli import main; sys.argv = ['market', *sys.argv[1:]]; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class CuttableProxy:
    """A TCP forwarder 127.0.0.1:<port> → target. `cut()` resets every open connection and refuses new ones (an
    immediate reset) until `restore()`. With `cut_at_bulk=n` it cuts by itself when the n-th `_bulk` request arrives
    (before forwarding it): a failure in the middle of an import's index sync. Loopback only."""

    def __init__(self, target: str, cut_at_bulk: int | None = None):
        parts = urllib.parse.urlsplit(target if "//" in target else f"//{target}")
        self.target = (parts.hostname, parts.port or 9200)
        self.cut_at_bulk = cut_at_bulk
        self.bulk_seen = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.up = threading.Event()
        self.up.set()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, outbound: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or not self.up.is_set():
                    break
                if outbound and self.cut_at_bulk and b"/_bulk" in data.split(b"\r\n", 1)[0]:
                    with self._lock:
                        self.bulk_seen += 1
                        trip = self.bulk_seen == self.cut_at_bulk
                    if trip:
                        self.cut()
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                _reset(s)

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            _reset(s)

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
