"""Races on valuation reports through the API, on SQLite and PostgreSQL (docs/security.md, V2)."""

from __future__ import annotations

import pytest

from market.accounts.models import Role
from market.valuations import service
from market.valuations.models import Valuation, ValuationStatus
from tests.conftest import Factory, post_at_once
from tests.races import TARGETS, count, private_app, widen_window
from tests.valuations.conftest import make_asset, vinput


@pytest.mark.parametrize("target", TARGETS)
def test_two_drafts_of_one_asset_issued_at_once_leave_one_issued(make_app, target, monkeypatch):
    """An agency issues two drafts of the same asset and value type at once: the later supersedes the earlier,
    so exactly one report is in force (never two issued reports of one asset, agency and value type)."""
    from market.db import db, utcnow

    app = private_app(make_app, target)
    with app.app_context():
        f = Factory(db.session)
        valuer, owner = f.user(Role.VALUER), f.user(Role.ENTERPRISE)
        asset = make_asset(db.session, owner.organisation_id)
        drafts = [service.create_valuation(db.session, valuer, vinput(asset), utcnow()).id for _ in range(2)]
        db.session.commit()
        email, asset_id = valuer.email, asset.id
    widen_window(monkeypatch, service, "check_no_conflict", 2)
    statuses = post_at_once(app, [email] * 2, [(f"/api/v1/valuations/{d}/issue", None) for d in drafts])
    assert statuses == [200, 200], statuses
    assert count(app, Valuation, Valuation.asset_id == asset_id, Valuation.status == ValuationStatus.ISSUED) == 1
