"""Helpers for the fault-injection tests: users on a private app, a cuttable TCP proxy, a CLI in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
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
    """A TCP forwarder 127.0.0.1:<port> → target that can be cut (all connections dropped, new ones refused
    with an immediate reset) and restored. Loopback only."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.closed = False
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            self.accepted += 1
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or not self.up.is_set():
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            _reset(s)

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


def _reset(sock: socket.socket) -> None:
    import struct

    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
