"""Demo lots, dated as they happened: the pledges of the demo's defaulted loan were listed two days after the
default, announced for 30 days, auctioned for 24 hours, sold, paid and transferred; the loss went to the compensation
claim, which staff approved and the fund paid. Today a voluntary transfer by 重庆两江智能装备有限公司 is in bidding and
another is announced. Skipped when the assets, people or the defaulted loan are missing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from market.accounts.models import User
from market.db import db, utcnow
from market.errors import DomainError
from market.exchange import disposal, preemption
from market.exchange.bidding import place_bid
from market.exchange.clock import tick
from market.exchange.deposits import pay_deposit
from market.exchange.listings import CHECKLIST, create_listing, review_listing, submit_listing
from market.exchange.models import Listing, ListingSource, NoticeMethod, PreemptionKind
from market.exchange.settlement import record_payment
from market.ip.models import IpAsset, LegalStatus, PledgeState
from market.loans.claims import approve_claim, loan_claim
from market.loans.models import Loan, LoanStatus
from market.valuations.demo import demo_amount
from market.valuations.service import latest_valuation


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _valuation(session, asset_id: int, today) -> Decimal | None:
    report = latest_valuation(session, asset_id, today)
    return report.amount if report is not None else None


def _auction(session, lot: Listing, bidders: list[User], rounds: int = 2) -> None:
    """The clock opens the lot; each bidder pays the deposit and they bid in turn, ten minutes apart."""
    tick(session, lot.bidding_starts_at)
    for user in bidders:
        pay_deposit(session, user, lot, lot.bidding_starts_at)
    at = lot.bidding_starts_at + timedelta(minutes=10)
    price = lot.starting_price
    for n in range(rounds):
        place_bid(session, bidders[n % len(bidders)], lot.id, price, at)
        price, at = price + lot.increment, at + timedelta(minutes=7)


def _dispose_defaulted_loan(session, staff: User, bank: User, bidders: list[User], echo) -> list[Listing]:
    loan = session.scalar(select(Loan).where(Loan.status == LoanStatus.DEFAULTED, Loan.bank_org_id ==
                                             bank.organisation_id).order_by(Loan.id).limit(1))
    if loan is None or loan.defaulted_on is None:
        echo("Exchange demo: no defaulted loan to dispose of")
        return []
    listed_at = datetime.combine(loan.defaulted_on + timedelta(days=2), time(2, 0))  # two days after the default
    values = {p.asset_id: demo_amount(p.asset_id) for p in loan.pledges}
    lots = disposal.list_loan_for_disposal(session, bank, loan.id, listed_at, valuations=values)
    for lot in lots:
        review_listing(session, staff, lot, {k: True for k in CHECKLIST}, True,
                               listed_at + timedelta(minutes=30))
    for n, lot in enumerate(lots):
        _auction(session, lot, bidders, rounds=2 + n)
    for lot in lots:
        tick(session, lot.ends_at)
        session.refresh(lot)
        record_payment(session, session.get(User, lot.winner_id), lot, lot.ends_at + timedelta(days=1))
    claim = loan_claim(session, loan.id)
    if claim is not None and claim.status.value == "submitted":
        try:
            with session.begin_nested():
                approve_claim(session, staff, claim.id, lots[-1].ends_at + timedelta(days=6))
        except DomainError as exc:
            echo(f"Exchange demo: claim {claim.id} left for staff: "
                 f"{exc.message % exc.params if exc.params else exc.message}")
    return lots


def demo_step(echo) -> None:
    session = db.session
    if session.scalar(select(Listing.id).limit(1)):
        echo("Exchange demo: lots already there")
        return
    staff, bank, seller = _user("staff@demo.cq"), _user("bank@demo.cq"), _user("enterprise2@demo.cq")
    bidders = [u for u in (_user("bidder@demo.cq"), _user("bidder2@demo.cq")) if u is not None]
    if staff is None or bank is None or seller is None or len(bidders) < 2:
        echo("Exchange demo: skipped (needs staff, a bank, the second enterprise and two bidders)")
        return
    try:
        disposed = _dispose_defaulted_loan(session, staff, bank, bidders, echo)
        session.commit()
    except DomainError as exc:
        session.rollback()
        echo(f"Exchange demo: disposal skipped: {exc.message % exc.params if exc.params else exc.message}")
        disposed = []
    # Voluntary transfers of the second enterprise's free, valued patents: one in bidding, one announced.
    today = utcnow().date()
    free_owned = select(IpAsset).where(IpAsset.legal_status == LegalStatus.GRANTED, IpAsset.frozen.is_(False),
                                       IpAsset.pledge_state == PledgeState.FREE,
                                       IpAsset.owner_org_id == seller.organisation_id)
    valued = [a for a in session.scalars(free_owned.order_by(IpAsset.id.desc()))
              if _valuation(session, a.id, today) is not None][:2]
    now = utcnow().replace(microsecond=0)
    plans = [(now - timedelta(days=31), now - timedelta(hours=1), 25),  # (notice, bidding start, hours of bidding)
             (now - timedelta(days=1), now + timedelta(days=29), 24)]
    lots = []
    for asset, (notice, start, hours) in zip(valued, plans, strict=False):
        valuation = _valuation(session, asset.id, today)
        price = (valuation * Decimal("0.7")).quantize(Decimal("1"))
        created = notice - timedelta(days=5)
        lot = create_listing(
            session, seller, asset_id=asset.id, source=ListingSource.VOLUNTARY, valuation=valuation,
            starting_price=price, increment=Decimal("10000"), deposit_amount=(price / 10).quantize(Decimal("1")),
            notice_starts_at=notice, bidding_starts_at=start, ends_at=start + timedelta(hours=hours), now=created,
            description="权利人转让闲置专利。专利权有效，年费已缴至本年度；详见尽职调查资料。")
        if not lots:  # the live lot has a known co-owner, told by letter before the announcement
            holder = preemption.register_holder(session, staff, lot, name="专利共有人（演示）",
                                                kind=PreemptionKind.CO_OWNER, user_id=None, now=created)
            preemption.record_notice(session, staff, holder.id, told_at=created - timedelta(days=4),
                                     method=NoticeMethod.LETTER, note="挂号信", now=created)
        submit_listing(session, seller, lot, created)
        review_listing(session, staff, lot, {k: True for k in CHECKLIST}, True, created)
        lots.append(lot)
    if lots:
        _auction(session, lots[0], bidders)
    session.commit()
    echo(f"Exchange demo: lots {[lot.id for lot in disposed]} of the defaulted loan sold and settled; "
         f"voluntary lots {[lot.id for lot in lots]} (bidding, announced)")
