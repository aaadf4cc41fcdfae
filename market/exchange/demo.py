"""Demo lots: one in bidding with a couple of bids, one announced, one sold (skipped when no assets exist)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from market.accounts.models import User
from market.db import db, utcnow
from market.exchange import preemption, service
from market.exchange.models import Listing, ListingSource, NoticeMethod, PreemptionKind
from market.ip.models import IpAsset, LegalStatus, PledgeState


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _valuation(session, asset_id: int, today) -> Decimal | None:
    from market.valuations.service import latest_valuation

    report = latest_valuation(session, asset_id, today)
    return report.amount if report is not None else None


def demo_step(echo) -> None:
    session = db.session
    if session.scalar(select(Listing.id).limit(1)):
        echo("Exchange demo: lots already there")
        return
    staff, bank = _user("staff@demo.cq"), _user("bank@demo.cq")
    bidders = [u for u in (_user("bidder@demo.cq"), _user("bidder2@demo.cq")) if u is not None]
    # Prefer the demo enterprises' free, valued patents, so the lots carry a real valuation report and the
    # dashboard can compare valuations with sale prices; fall back to any granted asset.
    granted = select(IpAsset).where(IpAsset.legal_status == LegalStatus.GRANTED, IpAsset.frozen.is_(False))
    today = utcnow().date()
    free_owned = granted.where(IpAsset.pledge_state == PledgeState.FREE, IpAsset.owner_org_id.is_not(None))
    valued = [a for a in session.scalars(free_owned.order_by(IpAsset.id))
              if _valuation(session, a.id, today) is not None][:3]
    assets = valued if len(valued) == 3 else session.scalars(granted.order_by(IpAsset.id).limit(3)).all()
    if staff is None or bank is None or len(bidders) < 2 or len(assets) < 3:
        echo("Exchange demo: skipped (needs 3 granted assets, staff, bank and two bidders)")
        return
    now = utcnow().replace(microsecond=0)
    plans = [  # (asset, valuation, notice start, bidding start, hours of bidding)
        (assets[0], Decimal("1200000"), now - timedelta(days=31), now - timedelta(hours=1), 25),
        (assets[1], Decimal("800000"), now - timedelta(days=1), now + timedelta(days=29), 24),
        (assets[2], Decimal("500000"), now - timedelta(days=35), now - timedelta(days=5), 24),  # payment still due
    ]
    lots = []
    for asset, valuation, notice, start, hours in plans:
        valuation = _valuation(session, asset.id, today) or valuation
        price = (valuation * Decimal("0.7")).quantize(Decimal("1"))
        created = notice - timedelta(days=5)
        lot = service.create_listing(
            session, bank, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=valuation,
            starting_price=price, increment=Decimal("10000"), deposit_amount=(price / 10).quantize(Decimal("1")),
            notice_starts_at=notice, bidding_starts_at=start, ends_at=start + timedelta(hours=hours), now=created,
            description="出质人逾期未还款，质权人申请处置。专利权有效，年费已缴至本年度；详见尽职调查资料。")
        if not lots:  # the live lot has a known co-owner, told by letter before the announcement
            holder = preemption.register_holder(session, staff, lot, name="专利共有人（演示）",
                                                kind=PreemptionKind.CO_OWNER, user_id=None, now=created)
            preemption.record_notice(session, staff, holder.id, told_at=created - timedelta(days=4),
                                     method=NoticeMethod.LETTER, note="挂号信", now=created)
        service.submit_listing(session, bank, lot, created)
        service.review_listing(session, staff, lot, {k: True for k in service.CHECKLIST}, True, created)
        lots.append(lot)
    live, _announced, sold = lots
    for lot in (sold, live):  # in time order: a tick at the later start would close the earlier lot unbid
        service.tick(session, lot.bidding_starts_at)
        for user in bidders:
            service.pay_deposit(session, user, lot, lot.bidding_starts_at)
        at = lot.bidding_starts_at + timedelta(minutes=10)
        service.place_bid(session, bidders[0], lot.id, lot.starting_price, at)
        service.place_bid(session, bidders[1], lot.id, lot.starting_price + lot.increment, at + timedelta(minutes=7))
        if lot is sold:
            service.tick(session, sold.ends_at)
    session.flush()
    echo(f"Exchange demo: lots {live.id} (bidding), {_announced.id} (announced), {sold.id} (sold)")
