"""Races on loans through the API, on SQLite and PostgreSQL: every check-then-write holds under concurrency."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import Role
from market.bounded import MONEY_COLUMN_MAX
from tests.conftest import NOW, Factory, post_at_once
from tests.races import TARGETS, count, private_app, widen_window


def _loan(app, principal="1000"):
    from market.db import db
    from tests.factories import bank_loan

    with app.app_context():
        bank, loan, _assets = bank_loan(db.session, Factory(db.session), principal)
        db.session.commit()
        return loan.id, bank.email


@pytest.mark.parametrize("target", TARGETS)
def test_thirty_full_repayments_at_once_accept_one(make_app, target):
    """30 full repayments of one ¥1,000 loan at once: one is recorded, 29 refused; never a negative outstanding."""
    from market.db import db
    from market.loans import schedule
    from market.loans.models import Loan, LoanStatus

    app = private_app(make_app, target)
    loan_id, email = _loan(app)
    body = {"paid_on": "2016-04-01", "principal": "1000", "interest": "0"}
    statuses = post_at_once(app, [email] * 30, [(f"/api/v1/loans/{loan_id}/repayments", body)] * 30)
    assert sorted(statuses) == [201] + [409] * 29 or sorted(statuses) == [201] + [422] * 29, statuses
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert len(loan.repayments) == 1
        assert schedule.outstanding_principal(loan) == 0 and loan.status is LoanStatus.REPAID


@pytest.mark.parametrize("target", TARGETS)
def test_default_declared_twice_at_once_is_declared_once(make_app, target, monkeypatch):
    """The bank declares one overdue loan in default twice at once: once recorded (one audit, one notice), one 409."""
    from market.audit.models import AuditEntry
    from market.loans import default

    app = private_app(make_app, target)
    loan_id, email = _loan(app)
    widen_window(monkeypatch, default, "own_bank_loan", 2)
    statuses = post_at_once(app, [email] * 2, [(f"/api/v1/loans/{loan_id}/default", {"reason": "逾期超过宽限期"})] * 2)
    assert sorted(statuses) == [200, 409], statuses
    assert count(app, AuditEntry, AuditEntry.action == "loan.defaulted", AuditEntry.entity_id == str(loan_id)) == 1


POLICY = {"eligible_kinds": ["invention"], "rate_cap_mode": "benchmark_ratio", "rate_cap_ratio": "1.5",
          "premium_subsidy_rate": "0.01", "compensation_rate": "0.3", "compensation_cap": "1500000",
          "enterprise_risk_ceiling": "0.1"}


@pytest.mark.parametrize("target", TARGETS)
def test_two_policy_versions_at_once_never_overlap(make_app, target, monkeypatch):
    """Two staff members add versions from 2030 and 2031 at once. Serialised, either both chain (2031 after 2030)
    or the later-dated one came first and 2030 is an overlap (409); never two open-ended versions."""
    from market.db import db
    from market.policy import service as policy
    from market.policy.models import Policy

    app = private_app(make_app, target)
    with app.app_context():
        f = Factory(db.session)
        emails = [f.user(Role.STAFF).email, f.user(Role.STAFF).email]
    widen_window(monkeypatch, policy, "policy_versions", 2)
    bodies = [{**POLICY, "name": f"v{year}", "effective_from": f"{year}-01-01"} for year in (2030, 2031)]
    statuses = post_at_once(app, emails, [("/api/v1/policies", body) for body in bodies])
    assert sorted(statuses) in ([201, 201], [201, 409]), statuses
    assert count(app, Policy, Policy.effective_to.is_(None)) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_same_rate_added_eight_times_at_once_is_one_row(make_app, target):
    """The unique (kind, date) constraint refuses the later copies: a 409 each, never a 500."""
    from market.db import db
    from market.policy.models import ReferenceRate

    app = private_app(make_app, target)
    with app.app_context():
        email = Factory(db.session).user(Role.STAFF).email
    body = {"kind": "lpr_1y", "effective_on": "2030-01-20", "rate": "0.0310"}
    statuses = post_at_once(app, [email] * 8, [("/api/v1/rates", body)] * 8)
    assert sorted(statuses) == [201] + [409] * 7, statuses
    assert count(app, ReferenceRate, ReferenceRate.effective_on == date(2030, 1, 20)) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_two_top_ups_at_once_never_pass_the_funds_limit(make_app, monkeypatch, target):
    """The fund sits just under what its column holds; two top-ups that each fit alone arrive at once (both read the
    balance before either writes, held by widen_window): one is kept, the other is a 422 that keeps nothing."""
    from sqlalchemy import update

    from market.db import db, utcnow
    from market.loans import fund
    from market.loans.models import Fund, LedgerTxn

    app = private_app(make_app, target)
    with app.app_context():
        fund.ensure_fund(db.session, utcnow())
        db.session.execute(update(Fund).values(balance=MONEY_COLUMN_MAX - Decimal("1000000")))
        staff = Factory(db.session).user(Role.STAFF)
        db.session.commit()
        email = staff.email
    widen_window(monkeypatch, fund, "ensure_fund", 2)
    statuses = post_at_once(app, [email, email], [("/api/v1/fund/contributions", {"amount": "600000"})] * 2)
    assert sorted(statuses) == [201, 422], statuses
    assert count(app, LedgerTxn, LedgerTxn.kind == "contribution") == 2  # the opening one and one top-up
    with app.app_context():
        # (SQLite keeps a NUMERIC this long as a REAL: compare the bound, not the last cents)
        assert db.session.get(Fund, fund.FUND_ID).balance <= MONEY_COLUMN_MAX


@pytest.mark.parametrize("target", TARGETS)
def test_the_daily_tick_never_sets_a_loan_repaid_meanwhile_back_to_overdue(make_app, target, monkeypatch):
    """The clock finds an overdue loan while the bank records its full repayment: whichever commits first, the loan
    ends repaid (the tick used to move the loan it had read, overwriting the repayment's REPAID with OVERDUE)."""
    from market.db import db
    from market.loans import repayments, schedule, watch
    from market.loans.models import Loan, LoanStatus

    app = private_app(make_app, target)
    loan_id, email = _loan(app)
    repaid = threading.Event()
    real = watch.is_overdue

    def held(loan, today):  # the tick has read the loan and judged it; the repayment goes first if it can
        result = real(loan, today)
        repaid.wait(2)
        return result

    monkeypatch.setattr(watch, "is_overdue", held)
    outcomes = []

    def run_tick():
        with app.app_context():
            watch.tick(db.session, date(2016, 9, 1), NOW)
            db.session.commit()
            outcomes.append("tick")

    def run_repayment():
        with app.app_context():
            from market.accounts.models import User

            bank = db.session.scalar(db.select(User).where(User.email == email))
            try:
                repayments.record_repayment(db.session, bank, loan_id, paid_on=date(2016, 8, 1),
                                            principal=Decimal("1000"), interest=Decimal("0"), now=NOW)
                db.session.commit()
                outcomes.append("repaid")
            finally:
                repaid.set()

    tick = threading.Thread(target=run_tick)
    tick.start()
    time.sleep(0.5)  # the tick holds the loan (or has read it) before the repayment starts
    repay = threading.Thread(target=run_repayment)
    repay.start()
    tick.join(30)
    repay.join(30)
    assert sorted(outcomes) == ["repaid", "tick"]
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert schedule.outstanding_principal(loan) == 0
        assert loan.status is LoanStatus.REPAID
