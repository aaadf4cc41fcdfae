"""Two staff members decide the same claim at the same moment through the API, one approving and one rejecting:
exactly one decision stands, and a claim is never paid and rejected."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from market.accounts.models import Role
from tests.conftest import NOW, post_at_once


def _race(app):
    from market.db import db
    from market.loans import claims, default
    from market.loans.models import CompensationClaim, LedgerTxn
    from tests.conftest import Factory
    from tests.factories import bank_loan

    with app.app_context():
        f = Factory(db.session)
        staff = [f.user(Role.STAFF), f.user(Role.STAFF)]
        bank, loan, _assets = bank_loan(db.session, f)
        default.declare_default(db.session, bank, loan.id, NOW, reason="逾期未还")
        claim = claims.record_recovery(db.session, bank, loan.id, Decimal("0"), NOW, evidence="处置回收凭证")
        claims.verify_recovery(db.session, staff[0], claim.id, NOW)
        db.session.commit()
        claim_id, emails = claim.id, [u.email for u in staff]
    decisions = ("approve", "reject")
    bodies = {"approve": None, "reject": {"reason": "重复申请"}}
    statuses = dict(zip(decisions, post_at_once(app, emails, [(f"/api/v1/claims/{claim_id}/{d}", bodies[d])
                                                              for d in decisions]), strict=True))
    with app.app_context():
        from sqlalchemy import select

        status = db.session.get(CompensationClaim, claim_id).status.value
        paid = db.session.scalar(select(LedgerTxn.id).where(LedgerTxn.ref == f"claim:{claim_id}")) is not None
    return statuses, status, paid


def _check(statuses, status, paid):
    assert sorted(statuses.values()) == [200, 409], statuses
    if statuses["approve"] == 200:
        assert status == "paid" and paid
    else:
        assert status == "rejected" and not paid


def test_approve_and_reject_at_once_sqlite(make_app):
    _check(*_race(make_app()))


@pytest.mark.skipif(not os.environ.get("MARKET_TEST_POSTGRESQL_URL"), reason="PostgreSQL not configured")
def test_approve_and_reject_at_once_postgresql(make_app):
    _check(*_race(make_app(url=os.environ["MARKET_TEST_POSTGRESQL_URL"])))
