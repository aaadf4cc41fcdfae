"""Races on loans through the API, on SQLite and PostgreSQL: every check-then-write holds under concurrency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import OrgKind, Role
from tests.conftest import NOW, Factory, post_at_once
from tests.loans.conftest import make_asset
from tests.races import TARGETS, private_app


def _loan(app, principal="1000"):
    from market.db import db
    from market.loans.service import sign_loan

    with app.app_context():
        f = Factory(db.session)
        bank = f.user(Role.BANK)
        ent = f.org(OrgKind.ENTERPRISE)
        loan = sign_loan(db.session, bank, enterprise_org_id=ent.id, principal=Decimal(principal),
                         annual_rate=Decimal("0.05"), term_months=12, asset_ids=[make_asset(db.session, ent).id],
                         signed_on=date(2016, 3, 1), now=NOW, registration_number="R1")
        db.session.commit()
        return loan.id, bank.email


@pytest.mark.parametrize("target", TARGETS)
def test_thirty_full_repayments_at_once_accept_one(make_app, target):
    """30 full repayments of one ¥1,000 loan at once: one is recorded, 29 refused; never a negative outstanding."""
    from market.db import db
    from market.loans import service
    from market.loans.models import Loan, LoanStatus

    app = private_app(make_app, target)
    loan_id, email = _loan(app)
    body = {"paid_on": "2016-04-01", "principal": "1000", "interest": "0"}
    statuses = post_at_once(app, [email] * 30, [(f"/api/v1/loans/{loan_id}/repayments", body)] * 30)
    assert sorted(statuses) == [201] + [409] * 29 or sorted(statuses) == [201] + [422] * 29, statuses
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert len(loan.repayments) == 1
        assert service.outstanding_principal(loan) == 0 and loan.status is LoanStatus.REPAID
