"""Issue 15 §3 in a real browser: exchange staff register a co-owner as pre-emption holder on a lot under review and
record, in Beijing time, that they were told by letter five days ago; the lot is announced. When bidding opens a
bidder pays the deposit (accepting the announcement and terms, which name the pre-emption holders) and bids the
starting price; the co-owner's page offers to match it, the co-owner confirms the same amount and leads; the other
bidder's page shows the tie taken by a pre-emption right and that they were outbid; the clock closes the lot sold to
the co-owner at that price. SQLite and PostgreSQL; screenshots preemption/NN-step.png."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from market.accounts.models import OrgKind, Role
from market.db import db
from market.exchange import listings
from market.exchange.models import Deposit, Listing, ListingSource, ListingStatus
from tests.browser import test_journey_disposal as journey
from tests.browser.test_journey_disposal import Clock, _flash, _tick
from tests.conftest import Factory, log_in_page, screenshot
from tests.factories import LOT_ASSET, make_asset

pytestmark = pytest.mark.browser
served = journey.served  # the live server on each configured database (fixture)


def _draft(app, clock):
    with app.app_context():
        factory = Factory(db.session)
        now = clock.now().replace(microsecond=0)
        staff, bank = factory.user(Role.STAFF), factory.user(Role.BANK)
        co_owner = factory.user(Role.BIDDER, factory.org(OrgKind.ENTERPRISE, name="重庆共创电池材料有限公司"))
        rival = factory.user(Role.BIDDER, factory.org(OrgKind.INVESTOR, name="重庆两江新能源投资有限公司"))
        asset = make_asset(db.session, factory.org(OrgKind.ENTERPRISE).id, **LOT_ASSET)
        start = (now + timedelta(days=31)).replace(minute=0, second=0)
        listing = listings.create_listing(
            db.session, bank, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=Decimal("1000000"),
            starting_price=Decimal("700000"), increment=Decimal("10000"), deposit_amount=Decimal("70000"),
            notice_starts_at=now, bidding_starts_at=start, ends_at=start + timedelta(hours=24), now=now,
            description="共有专利，共有人享有优先购买权。")
        listings.submit_listing(db.session, bank, listing, now)
        db.session.commit()
        return {"lot": listing.id, "staff": staff.email, "co_owner": co_owner.email, "co_owner_id": co_owner.id,
                "rival": rival.email, "start": start}


def test_a_co_owner_takes_the_tie(served, page_for, monkeypatch):
    app, url, database = served
    shot = "preemption/" + ("" if database == "sqlite" else f"{database}-")
    clock = Clock(monkeypatch)
    story = _draft(app, clock)
    manage = f"{url}/exchange/staff/{story['lot']}"
    lot_url = f"{url}/exchange/{story['lot']}"

    # Staff register the co-owner (with their bidder account) and record the letter sent five days ago.
    staff = page_for()
    log_in_page(staff, url, story["staff"])
    staff.goto(manage)
    form = staff.locator("[data-test=holder-form]")
    form.locator("input[name=name]").fill("重庆共创电池材料有限公司")
    form.locator("select[name=kind]").select_option("co_owner")
    form.locator("input[name=user_id]").fill(str(story["co_owner_id"]))
    form.get_by_role("button", name="登记权利人").click()
    staff.wait_for_url(manage)
    assert "优先购买权人已登记" in _flash(staff)
    # Approving before the holder was told is refused
    review = staff.locator("[data-test=review-form]")
    for box in review.locator("input[type=checkbox]").all():
        box.check()
    review.get_by_role("button", name="记录审核结果").click()
    staff.wait_for_url(manage)
    assert "须在公告前至少 3 日得到通知" in _flash(staff)
    assert staff.locator("[data-test=status]").inner_text() == "审核中"
    told = clock.now() + timedelta(hours=8) - timedelta(days=5)  # Beijing time, five days ago
    notice = staff.locator("[data-test=holder-notice-form]")
    notice.locator("input[name=told_at]").fill(told.strftime("%Y-%m-%dT%H:%M"))
    notice.locator("select[name=method]").select_option("letter")
    notice.locator("input[name=note]").fill("挂号信 XA20261203")
    notice.get_by_role("button", name="记录通知").click()
    staff.wait_for_url(manage)
    assert "书面函件" in staff.locator("[data-test=holders]").inner_text()
    screenshot(staff, shot + "01-holder-told")
    review = staff.locator("[data-test=review-form]")
    for box in review.locator("input[type=checkbox]").all():
        box.check()
    review.get_by_role("button", name="记录审核结果").click()
    staff.wait_for_url(manage)
    assert staff.locator("[data-test=status]").inner_text() == "公告中"

    # The announcement period passes; the clock opens bidding.
    clock.advance_to(story["start"] + timedelta(minutes=1))
    assert "1 opened" in _tick(app)
    holder, rival = page_for(), page_for()
    for page, email in ((rival, story["rival"]), (holder, story["co_owner"])):
        log_in_page(page, url, email)
        page.goto(lot_url)
        assert "共有人 × 1" in page.locator("[data-test=preemption-summary]").inner_text()
        page.locator("[data-test=deposit-form] input[name=accept]").check()
        page.get_by_role("button", name=re.compile("交纳保证金")).click()
        page.wait_for_url(lot_url)
        assert "保证金已交纳" in _flash(page)
    assert holder.locator("[data-test=holder-note]").is_visible()
    holder.evaluate("window.__noReload = 1")

    # The rival bids the starting price; the co-owner's page offers to match it.
    rival.get_by_role("button", name="出价").click()
    with rival.expect_navigation():
        rival.get_by_role("button", name="确认出价").click()
    assert "出价成功" in _flash(rival)
    expect(rival.locator("[data-test=standing]")).to_have_text("您是当前最高出价人。")
    expect(holder.locator("[data-test=bids]")).to_contain_text("¥700,000.00", timeout=8000)
    expect(holder.locator("[data-test=bid-form] input[name=amount]")).to_have_value("700000.00")
    assert holder.evaluate("window.__noReload") == 1
    holder.get_by_role("button", name="出价").click()
    expect(holder.locator("[data-test=confirm-bid]")).to_contain_text("¥700,000.00")
    screenshot(holder, shot + "02-co-owner-matches")
    with holder.expect_navigation():
        holder.get_by_role("button", name="确认出价").click()
    assert "出价成功" in _flash(holder)
    expect(holder.locator("[data-test=standing]")).to_have_text("您是当前最高出价人。")

    # The rival sees the tie taken by the pre-emption right, at the same price, without a reload.
    expect(rival.locator("[data-test=bids]")).to_contain_text("优先购买权", timeout=8000)
    expect(rival.locator("[data-test=standing]")).to_have_text("您已被超越。", timeout=8000)
    expect(rival.locator("[data-field=current_price]")).to_have_text("¥700,000.00")
    expect(rival.locator("[data-field=next_min_bid]")).to_have_text("¥710,000.00")
    screenshot(rival, shot + "03-rival-sees-the-tie")
    api = rival.request.get(f"{url}/api/v1/auctions/{story['lot']}").json()
    assert api["leader_preemption"] is True and api["bids"][0]["preemption"] is True
    assert [b["amount"] for b in api["bids"]] == ["700000.00", "700000.00"]

    # Nobody bids again: the lot closes sold to the co-owner at the tied price.
    with app.app_context():
        ends_at = db.session.get(Listing, story["lot"]).ends_at
    clock.advance_to(ends_at + timedelta(seconds=1))
    expect(rival.locator("[data-test=outcome]")).to_contain_text("¥700,000.00", timeout=8000)
    assert not rival.locator("[data-test=bid-form]").is_visible()
    assert "1 closed" in _tick(app)
    with app.app_context():
        lot = db.session.get(Listing, story["lot"])
        code = db.session.query(Deposit.code).filter_by(listing_id=lot.id, bidder_id=story["co_owner_id"]).scalar()
        assert (lot.status, lot.winner_id, lot.sale_price) == (
            ListingStatus.SOLD, story["co_owner_id"], Decimal("700000.00"))
    holder.reload()
    assert f"竞买人 {code}" in holder.locator("[data-test=outcome]").inner_text()
    screenshot(holder, shot + "04-co-owner-wins")
