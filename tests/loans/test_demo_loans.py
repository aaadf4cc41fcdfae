"""The loans demo step: from the demo needs, a performing loan with a repayment and a paid subsidy, and a defaulted
loan whose compensation claim is approved and paid from the fund. Twice: nothing more."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from market.db import db, utcnow
from market.loans.models import CompensationClaim, CompensationStatus, LedgerTxn, Loan, LoanStatus
from market.loans.service import fund_balance
from market.needs.models import Need, NeedStatus


def test_demo_step_twice(make_app, tmp_path):
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Loans: loan" in result.output, result.output
    with app.app_context():
        loans = db.session.scalars(select(Loan).order_by(Loan.id)).all()
        assert len(loans) == 2 and all(loan.offer_id for loan in loans)
        performing, defaulted = loans
        assert performing.status is LoanStatus.ACTIVE and len(performing.repayments) == 1
        assert performing.premium_subsidy == Decimal("30000.00") and len(performing.pledges) == 2
        # Its claim was paid, so the loss is written off and the loan has ended (market.loans.service.end_after_claim).
        assert defaulted.status is LoanStatus.WRITTEN_OFF and defaulted.defaulted_on and defaulted.closed_at
        claim = db.session.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == defaulted.id))
        assert claim.status is CompensationStatus.PAID and claim.compensation == Decimal("1500000.00")
        assert fund_balance(db.session, utcnow()) == Decimal("25000000.00") - Decimal("1530000.00")
        funded = db.session.scalar(select(func.count()).select_from(Need).where(Need.status == NeedStatus.FUNDED))
        assert funded == 2
        txns = db.session.scalar(select(func.count()).select_from(LedgerTxn))
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output + repr(again.exception)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan)) == 2
        assert db.session.scalar(select(func.count()).select_from(LedgerTxn)) == txns
