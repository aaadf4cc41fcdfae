"""The live auction page follows the close without a reload (a real Chromium): the status badge turns to sold or
failed, the winner (or "not sold") appears, the bid form goes; bid and end times are shown by the script in the
server's zone and format (Asia/Shanghai, the locale's medium form), the same text the server renders. And the public
results page keeps a Chinese lot title readable in the English UI (the title cell is not squeezed to one character
per line)."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from decimal import Decimal as D

import pytest
from babel.dates import format_datetime
from playwright.sync_api import expect

from market.accounts.models import Role
from market.db import db, utcnow
from market.exchange import bidding, deposits
from tests.conftest import Factory, log_in_page, screenshot
from tests.factories import build_lot

pytestmark = pytest.mark.browser


def _lot_ending_soon(app, *, locale: str, bid: bool, seconds: int = 8):
    """A lot in bidding that ends `seconds` from now; a viewer (a bidder with a deposit, UI in `locale`) and, when
    `bid`, another bidder whose bid was placed half an hour ago."""
    with app.app_context():
        factory = Factory(db.session)
        now = utcnow().replace(microsecond=0)
        listing, _ = build_lot(db.session, factory, start=now - timedelta(hours=24), hours=25)
        viewer = factory.user(Role.BIDDER, locale=locale)
        deposits.pay_deposit(db.session, viewer, listing, now - timedelta(hours=2))
        db.session.commit()
        out = {"lot": listing.id, "viewer": viewer.email, "code": None, "placed_at": None}
        if bid:
            alice = factory.user(Role.BIDDER)
            deposit = deposits.pay_deposit(db.session, alice, listing, now - timedelta(hours=1))
            db.session.commit()
            placed = bidding.place_bid(db.session, alice, listing.id, D("700000.00"), now - timedelta(minutes=30))
            assert placed.accepted
            out.update(code=deposit.code, placed_at=placed.placed_at)
        listing.ends_at = utcnow().replace(microsecond=0) + timedelta(seconds=seconds)
        db.session.commit()
        out["ends_at"] = listing.ends_at
    return out


def _close(app, ends_at) -> None:
    """Wait for the end, then run the real `auctions tick` command."""
    time.sleep(max(0.0, (ends_at - utcnow()).total_seconds()) + 0.5)
    result = app.test_cli_runner().invoke(args=["auctions", "tick"])
    assert result.exit_code == 0 and "1 closed" in result.output, result.output


def _server_bids(page, lot_url) -> list[str]:
    """The bid lines as the server renders them (the page's HTML before any script ran)."""
    body = page.request.get(lot_url).text()
    block = re.search(r'<ol data-field="bids"[^>]*>(.*?)</ol>', body, re.S).group(1)
    return [html.unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", block, re.S)]


def _server_field(page, lot_url, field) -> str:
    body = page.request.get(lot_url).text()
    return html.unescape(re.search(rf'data-field="{field}"[^>]*>(.*?)</', body, re.S).group(1)).strip()


def test_sold_lot_updates_badge_winner_and_form_and_times_match_the_server(live_server, page_for):
    app, url = live_server
    story = _lot_ending_soon(app, locale="en", bid=True, seconds=10)
    lot_url = f"{url}/exchange/{story['lot']}"
    page = page_for("en-US")
    log_in_page(page, url, story["viewer"])
    page.goto(lot_url)
    root = page.locator("#auction")
    expect(root).to_have_attribute("data-updated", re.compile(r"\d"), timeout=8000)  # the poller rendered
    page.evaluate("window.__noReload = 1")
    badge = page.locator("[data-field=status]")
    expect(badge).to_have_text("Bidding")
    expect(page.locator("[data-test=bid-form]")).to_be_visible()
    expect(page.locator("[data-test=outcome]")).to_be_hidden()

    # The script's bid line and end time are the server's text: Asia/Shanghai, the English medium form.
    shown = page.locator("[data-test=bids] li").first.text_content()
    assert [shown] == _server_bids(page, lot_url)
    shanghai = format_datetime(story["placed_at"].replace(tzinfo=None), "medium", tzinfo="Asia/Shanghai", locale="en")
    assert shown == f"Bidder {story['code']} · ¥700,000.00 · {shanghai}", shown
    assert "UTC" not in page.locator("[data-field=ends_at]").text_content()
    assert page.locator("[data-field=ends_at]").text_content() == _server_field(page, lot_url, "ends_at")

    _close(app, story["ends_at"])
    expect(badge).to_have_text("Sold", timeout=8000)
    outcome = page.locator("[data-test=outcome]")
    expect(outcome).to_have_text(f"Winner: Bidder {story['code']} · Sale price ¥700,000.00")
    expect(page.locator("[data-test=bid-form]")).to_be_hidden()
    expect(page.locator("[data-field=countdown]")).to_have_text("Bidding closed")
    assert page.evaluate("window.__noReload") == 1
    screenshot(page, "exchange-close-sold-en")
    assert outcome.text_content() == _server_field(page, lot_url, "outcome")  # a reload would show the same

    # The public results page in English: the Chinese lot title keeps a readable width.
    page.goto(url + "/exchange/results")
    cell = page.locator("tr", has=page.locator(f"a[href='/exchange/{story['lot']}']")).locator("[data-test=lot-title]")
    box = cell.bounding_box()
    link = cell.locator("a").bounding_box()
    font = page.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)", cell.element_handle())
    screenshot(page, "exchange-results-en")
    assert box["width"] >= 8 * font, (box, font)  # more than a few characters per line
    assert link["height"] <= 3 * font * 1.6, (link, font)  # the 13-character title takes at most two lines


def test_failed_lot_shows_unsold_in_chinese_without_reload(live_server, page_for):
    app, url = live_server
    story = _lot_ending_soon(app, locale="zh_CN", bid=False, seconds=6)
    lot_url = f"{url}/exchange/{story['lot']}"
    page = page_for()
    log_in_page(page, url, story["viewer"])
    page.goto(lot_url)
    expect(page.locator("#auction")).to_have_attribute("data-updated", re.compile(r"\d"), timeout=8000)
    page.evaluate("window.__noReload = 1")
    expect(page.locator("[data-field=status]")).to_have_text("竞价中")
    ends = page.locator("[data-field=ends_at]").text_content()
    assert ends == _server_field(page, lot_url, "ends_at")
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d", ends), ends

    _close(app, story["ends_at"])
    expect(page.locator("[data-field=status]")).to_have_text("流拍", timeout=8000)
    expect(page.locator("[data-test=outcome]")).to_have_text("无人出价，本标的流拍。")
    expect(page.locator("[data-test=bid-form]")).to_be_hidden()
    assert page.evaluate("window.__noReload") == 1
    screenshot(page, "exchange-close-failed-zh")
    assert page.locator("[data-test=outcome]").text_content() == _server_field(page, lot_url, "outcome")
