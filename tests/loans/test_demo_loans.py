"""The demo as a market that has been running for 18 months, consistent with the rules: needs published over time
and the first bulletin holding the oldest; loans signed from accepted offers on their own dates (a performing one
with every instalment due so far repaid and its subsidy paid, two repaid in full, one defaulted after three months of
arrears); the defaulted loan's pledges auctioned after a 30-day notice, sold, paid and transferred, and its
compensation claim built from that recovery and paid from the fund; no search-index lag. Twice: nothing more."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from market.db import db, utcnow
from market.exchange.models import Listing, ListingStatus, Transfer
from market.ip.indexing import lag
from market.loans.fund import fund_balance
from market.loans.models import CompensationClaim, CompensationStatus, LedgerTxn, Loan, LoanStatus
from market.loans.schedule import amount_overdue, loan_schedule
from market.needs.models import Bulletin, Need, NeedStatus
from market.stats.figures import loans_by_month, need_to_loan_days


def test_demo_step_twice(make_app, tmp_path):
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Loans: loan" in result.output, result.output
    with app.app_context():
        session = db.session
        today = utcnow().date()
        loans = session.scalars(select(Loan).order_by(Loan.signed_on)).all()
        assert len(loans) == 4 and all(loan.offer_id for loan in loans)
        defaulted, repaid_a, repaid_b, performing = loans
        # Spread over the past 18 months: four different months, none signed today.
        assert len(loans_by_month(session)) == 4
        assert (today - defaulted.signed_on).days > 365 and all(loan.signed_on < today for loan in loans)
        assert min(need_to_loan_days(session)) > 0
        # Performing: every instalment due so far repaid on its date, nothing overdue, subsidy paid.
        assert performing.status is LoanStatus.ACTIVE and amount_overdue(performing, today) == 0
        assert len(performing.repayments) == len([i for i in loan_schedule(performing) if i.due_on < today]) >= 1
        assert performing.premium_subsidy == Decimal("30000.00") and len(performing.pledges) == 2
        assert {repaid_a.status, repaid_b.status} == {LoanStatus.REPAID}
        assert not any(p.active for loan in (repaid_a, repaid_b) for p in loan.pledges)
        # Defaulted after the instalments stopped and three months of arrears, then disposed of at the exchange.
        assert defaulted.status is LoanStatus.WRITTEN_OFF and defaulted.closed_at
        missed = loan_schedule(defaulted)[len(defaulted.repayments)]
        assert (defaulted.defaulted_on - missed.due_on).days >= 90
        lots = session.scalars(select(Listing).where(Listing.loan_id == defaulted.id)).all()
        assert len(lots) == len(defaulted.pledges) == 2
        for lot in lots:
            assert lot.status is ListingStatus.SETTLED
            assert lot.notice_starts_at.date() > defaulted.defaulted_on
            assert lot.bidding_starts_at - lot.notice_starts_at >= timedelta(days=30)
            assert session.scalar(select(Transfer).where(Transfer.listing_id == lot.id))
        recovery = sum(lot.sale_price for lot in lots)
        claim = session.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == defaulted.id))
        assert claim.status is CompensationStatus.PAID and claim.recovery == recovery
        assert claim.compensation == min((claim.bank_loss * Decimal("0.30")).quantize(Decimal("0.01")),
                                         Decimal("1500000.00"))
        assert fund_balance(session) == Decimal("25000000.00") - Decimal("30000.00") - claim.compensation
        funded = session.scalar(select(func.count()).select_from(Need).where(Need.status == NeedStatus.FUNDED))
        assert funded == 4
        # The first bulletin holds the oldest published need; a fresh demo has nothing waiting for the index.
        first = session.scalar(select(Bulletin).order_by(Bulletin.number).limit(1))
        oldest = session.scalar(select(Need).where(Need.published_at.is_not(None)).order_by(Need.published_at))
        assert oldest.id in first.need_ids
        assert lag(session)[0] == 0
        txns = session.scalar(select(func.count()).select_from(LedgerTxn))
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output + repr(again.exception)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan)) == 4
        assert db.session.scalar(select(func.count()).select_from(LedgerTxn)) == txns
