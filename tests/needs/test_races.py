"""Races on financing needs through the API, on SQLite and PostgreSQL (see docs/security.md, V2)."""

from __future__ import annotations

import pytest

from market.accounts.models import Role
from market.needs import service
from market.needs.models import NeedAsset
from tests.conftest import Factory, post_at_once
from tests.needs.conftest import NeedsKit
from tests.races import TARGETS, count, private_app, widen_window


@pytest.mark.parametrize("target", TARGETS)
def test_two_needs_offering_one_asset_at_once_make_one(make_app, target, monkeypatch):
    """An enterprise posts two needs offering the same patent at once: one is kept, the other refused (409)."""
    from market.db import db

    app = private_app(make_app, target)
    with app.app_context():
        f = Factory(db.session)
        user = f.user(Role.ENTERPRISE)
        asset_id = NeedsKit(db.session, f).asset(user.organisation).id
        db.session.commit()
        email = user.email
    body = {"title": "锂电池产线扩产", "amount": "3000000", "term_months": 12, "purpose": "购置涂布设备",
            "max_rate": "0.06", "asset_ids": [asset_id], "submit": True}
    widen_window(monkeypatch, service, "check_assets", 2)
    statuses = post_at_once(app, [email] * 2, [("/api/v1/needs", body)] * 2)
    assert sorted(statuses) == [201, 409], statuses
    assert count(app, NeedAsset, NeedAsset.asset_id == asset_id) == 1
