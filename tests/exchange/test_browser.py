"""Two bidders in two browser contexts on one lot: each page shows the other's bid without a reload, and the
countdown follows the extension from a late bid (Chinese UI; screenshots kept as CI output)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from market.accounts.models import Role
from market.db import db, utcnow
from market.exchange import deposits
from tests.conftest import Factory, log_in_page, screenshot
from tests.factories import build_lot

pytestmark = pytest.mark.browser


def test_two_bidders_see_each_other_and_the_extension(live_server, page_for):
    app, url = live_server
    with app.app_context():
        factory = Factory(db.session)
        now = utcnow().replace(microsecond=0)
        # bidding opened an hour ago; it ends in two minutes, so a bid now moves the end to five minutes after it
        listing, _ = build_lot(db.session, factory, start=now - timedelta(hours=24), hours=24)
        listing.ends_at = now + timedelta(minutes=2)
        alice, bob = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
        for user in (alice, bob):
            deposits.pay_deposit(db.session, user, listing, now)
        db.session.commit()
        lot, a_email, b_email = listing.id, alice.email, bob.email

    a, b = page_for(), page_for()
    log_in_page(a, url, a_email)
    log_in_page(b, url, b_email)
    for page in (a, b):
        page.goto(f"{url}/exchange/{lot}")
        assert "暂无出价" in page.locator("[data-test=bids]").inner_text()
    countdown = b.locator("[data-field=countdown]")
    expect(countdown).to_have_text(re.compile(r"^0:0[12]:"))
    b.evaluate("window.__noReload = 1")
    a.evaluate("window.__noReload = 1")

    a.get_by_role("button", name="出价").click()  # the next minimum bid is prefilled: ¥700,000.00
    expect(a.locator("[data-test=confirm-bid]")).to_contain_text("¥700,000.00")  # a bid asks for confirmation
    screenshot(a, "exchange-confirm-bid")
    with a.expect_navigation():
        a.get_by_role("button", name="确认出价").click()
    assert "出价成功" in a.content() or "已接受" in a.content(), a.locator("main").inner_text()[:400]
    # Bob's page shows Alice's bid without a reload, and the countdown jumps to about five minutes
    expect(b.locator("[data-test=bids]")).to_contain_text("700,000.00", timeout=8000)
    expect(countdown).to_have_text(re.compile(r"^0:0[45]:"), timeout=8000)
    assert b.evaluate("window.__noReload") == 1
    assert "710,000.00" in b.locator("[data-field=next_min_bid]").inner_text()
    screenshot(b, "exchange-bob-sees-alice")
    before = countdown.inner_text()

    a.evaluate("window.__noReload = 1")
    assert b.locator("input[name=amount]").input_value() == "710000.00"  # raised by the poller
    b.get_by_role("button", name="出价").click()
    with b.expect_navigation():
        b.get_by_role("button", name="确认出价").click()
    assert "出价成功" in b.content()
    expect(a.locator("[data-test=bids]")).to_contain_text("710,000.00", timeout=8000)
    assert a.evaluate("window.__noReload") == 1
    assert "720,000.00" in a.locator("[data-field=next_min_bid]").inner_text()
    expect(a.locator("[data-field=countdown]")).to_have_text(re.compile(r"^0:0[45]:"), timeout=8000)
    screenshot(a, "exchange-alice-sees-bob")
    assert before.startswith("0:0")
