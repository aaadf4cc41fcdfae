from __future__ import annotations

import pytest

from market.accounts.models import Role


@pytest.fixture
def ipapp(make_app, tmp_path):
    """A private app (real commits) whose embedded search index lives in tmp_path."""
    return make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))


@pytest.fixture
def users(ipapp):
    from market.db import db
    from tests.conftest import Factory

    with ipapp.app_context():
        f = Factory(db.session)
        made = {role: f.user(role) for role in (Role.ENTERPRISE, Role.BANK, Role.STAFF)}
        db.session.commit()
        return {role: (u.id, u.email, u.organisation_id) for role, u in made.items()}


def log_in(client, email):
    from tests.conftest import PASSWORD

    r = client.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302
