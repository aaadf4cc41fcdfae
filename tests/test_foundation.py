"""The one helper for each recurring job: `StateMachine.move`, `security.require`, `work.commit_or_flash`."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from sqlalchemy import select

from market.accounts.models import OrgKind, OrgStatus, Role
from market.audit.models import AuditEntry
from market.db import db
from market.errors import Forbidden, InvalidTransition, NotFound
from market.security import require
from market.states import StateMachine
from market.work import commit_or_flash, commit_or_rollback
from tests.conftest import NOW

MACHINE = StateMachine("organisation", {OrgStatus.PENDING: {OrgStatus.VERIFIED}},
                       fields=["name", "status", "status_reason"], action_prefix="org")


def entries(session, org):
    return session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "organisation",
                                                    AuditEntry.entity_id == str(org.id))).all()


def test_move_sets_flushes_and_audits_before_and_after(session, factory):
    org = factory.org(OrgKind.ENTERPRISE, status=OrgStatus.PENDING)
    staff = factory.user(Role.STAFF)
    MACHINE.move(session, staff, org, OrgStatus.VERIFIED, NOW, note="checked", also={"status_reason": "ok"})
    assert org.status is OrgStatus.VERIFIED and org.status_reason == "ok"
    (entry,) = entries(session, org)
    assert entry.action == "org.verified" and entry.actor_id == staff.id and entry.note == "checked"
    assert entry.before["status"] == "pending" and entry.after == {"name": org.name, "status": "verified",
                                                                  "status_reason": "ok"}


def test_a_refused_move_writes_nothing(session, factory):
    org = factory.org(OrgKind.ENTERPRISE, status=OrgStatus.VERIFIED)
    with pytest.raises(InvalidTransition):
        MACHINE.move(session, None, org, OrgStatus.PENDING, NOW, also={"status_reason": "never"})
    assert org.status is OrgStatus.VERIFIED and org.status_reason is None
    assert entries(session, org) == []


def test_require_names_the_role_and_the_verification(session, factory):
    bank = factory.user(Role.BANK)
    assert require(bank, Role.BANK) is bank.organisation
    with pytest.raises(Forbidden, match="Only exchange staff"):
        require(bank, Role.STAFF)
    with pytest.raises(Forbidden, match="Your role cannot do this"):
        require(bank, Role.STAFF, Role.ENTERPRISE)
    with pytest.raises(Forbidden, match="Only banks"):
        require(None, Role.BANK)
    pending = factory.user(Role.BANK, org=factory.org(OrgKind.BANK, status=OrgStatus.PENDING))
    with pytest.raises(Forbidden, match="must be verified"):
        require(pending, Role.BANK)
    assert require(pending, Role.BANK, verified=False) is pending.organisation


def test_commit_or_flash_keeps_all_or_nothing(app, factory):
    org = factory.org(OrgKind.ENTERPRISE, status=OrgStatus.PENDING)
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        def refused():
            org.name = "半途而废"
            db.session.flush()
            raise NotFound("This loan does not exist.")

        ok, result = commit_or_flash(refused, "done")
        assert (ok, result) == (False, None)
        db.session.refresh(org)
        assert org.name != "半途而废"
        assert get_flashed_messages(with_categories=True) == [("error", "该贷款不存在。")]
    with app.test_request_context("/"):
        ok, result = commit_or_flash(lambda: 42, "好了")
        assert (ok, result) == (True, 42)
        assert get_flashed_messages(with_categories=True) == [("success", "好了")]


def test_commit_or_rollback_lets_the_error_answer(app, factory):
    with app.test_request_context("/"), pytest.raises(Forbidden):
        commit_or_rollback(lambda: require(None, Role.STAFF))
