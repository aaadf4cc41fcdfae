"""Races on saved patent searches through the API, on SQLite and PostgreSQL (docs/security.md, V2)."""

from __future__ import annotations

import pytest

from market.accounts.models import Role
from market.ip import finder, saved
from market.ip.models import SavedSearch
from tests.conftest import NOW, Factory, post_at_once
from tests.races import TARGETS, count, private_app, widen_window


@pytest.mark.parametrize("target", TARGETS)
def test_the_last_free_saved_search_taken_twice_at_once(make_app, target, monkeypatch):
    """A bank user one below the limit saves two searches at once: one is kept (201), the other refused (422)."""
    from market.db import db

    app = private_app(make_app, target)
    with app.app_context():
        user = Factory(db.session).user(Role.BANK)
        for n in range(saved.MAX_PER_USER - 1):
            db.session.add(SavedSearch(owner_user_id=user.id, owner_org_id=user.organisation_id, name=f"s{n}",
                                       query={"q": "电池"}, created_at=NOW, last_checked_at=NOW, last_seen_at=NOW))
        db.session.commit()
        email, user_id = user.email, user.id
    widen_window(monkeypatch, finder, "parse_params", 2)
    body = {"name": "锂电池", "query": {"q": "锂电池"}}
    statuses = post_at_once(app, [email] * 2, [("/api/v1/saved-searches", body)] * 2)
    assert sorted(statuses) == [201, 422], statuses
    assert count(app, SavedSearch, SavedSearch.owner_user_id == user_id) == saved.MAX_PER_USER
