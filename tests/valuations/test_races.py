"""Races on valuation reports through the API, on SQLite and PostgreSQL (docs/security.md, V2)."""

from __future__ import annotations

import pytest

from market.accounts.models import Role
from market.valuations import service
from market.valuations.models import Valuation, ValuationStatus
from tests.conftest import Factory, post_at_once
from tests.factories import make_asset, vinput
from tests.races import TARGETS, count, private_app, widen_window


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


@pytest.mark.parametrize("target", TARGETS)
def test_a_consultation_answered_twice_at_once_is_answered_once(make_app, target, monkeypatch):
    """The expert's two sessions answer one consultation at once (both read it as waiting, held by widen_window):
    one answer is kept and audited, the other is a 409 (the consultation's row lock)."""
    from market.audit.models import AuditEntry
    from market.db import db, utcnow
    from market.valuations import experts

    app = private_app(make_app, target)
    with app.app_context():
        f = Factory(db.session)
        valuer, owner = f.user(Role.VALUER), f.user(Role.ENTERPRISE)
        experts.save_expert_profile(db.session, valuer, title="资产评估师", bio="", specialities=["H01M"],
                                    now=utcnow())
        asset = make_asset(db.session, owner.organisation_id)
        consultation = experts.request_consultation(db.session, owner, question="质押多少合适？", asset_id=asset.id,
                                                    now=utcnow())
        db.session.commit()
        email, cid = valuer.email, consultation.id
    widen_window(monkeypatch, experts, "consultation_for", 2)
    answer = {"answer": "建议按抵押贷款价值的五成申请。"}
    statuses = post_at_once(app, [email] * 2, [(f"/api/v1/consultations/{cid}/answer", answer)] * 2)
    assert sorted(statuses) == [200, 409], statuses
    assert count(app, AuditEntry, AuditEntry.action == "consultation.answered", AuditEntry.entity_id == str(cid)) == 1
