"""Helpers for the fault-injection tests: users on a private app, `market ...` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
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
