"""Issue 15 in a real browser, against the real server (`market serve` in its own process, its scheduler on): a lot with
a registered pre-emption holder (a co-owner) is in bidding; a rival bidder (English UI) bids the starting price and the
co-owner (Chinese UI) matches it; the rival's page shows the tie taken by the pre-emption right. The lot is then made
to end a few seconds ahead and nobody runs any command: the server's own auctions clock closes it, and both open pages
turn to "sold" with the co-owner's code at the tied price within seconds, without a reload. SQLite and PostgreSQL.

Time: the server reads the real wall clock while this suite runs a year ahead (tests/conftest.py), so the lot's history
is written at the wall clock (`wall_now`). Its end is moved to a few seconds ahead only after the bids (a bid in the
last five minutes would extend it by five minutes). Screenshots: scheduled-close/<database>/NN-step.png, each checked to
be in its page's language."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from market.accounts.models import Organisation, OrgKind, Role, User
from market.audit.models import AuditEntry
from market.clock import ClockRun
from market.db import db
from market.exchange import deposits
from market.exchange.models import Deposit, Listing, ListingStatus, PreemptionKind
from tests.conftest import PG_URL, Factory, log_in_page, screenshot
from tests.factories import build_lot
from tests.language import leaks, visible_text
from tests.service.helpers import DATABASES, Server, wall_now

pytestmark = pytest.mark.browser

CO_OWNER_ORG, RIVAL_ORG = "重庆共创电池材料有限公司", "重庆两江新能源投资有限公司"
TEXT = {
    "zh": {"bid": "出价", "confirm": "确认出价", "accepted": "出价成功", "leading": "您是当前最高出价人。",
           "bidding": "竞价中", "sold": "已成交", "won": "您已竞得该拍品", "bidder": "竞买人", "locale": "zh_CN"},
    "en": {"bid": "Place bid", "confirm": "Confirm the bid", "accepted": "Your bid was accepted.",
           "outbid": "You have been outbid.", "preemption": "pre-emption right", "bidding": "Bidding",
           "sold": "Sold", "winner": "Winner", "bidder": "Bidder", "locale": "en"},
}


@pytest.fixture(params=DATABASES)
def real_server(request, make_app, tmp_path):
    """A private database written by this test's app and served by `market serve` (scheduler on) in a subprocess."""
    app = make_app(url=PG_URL if request.param == "postgresql" else None)
    server = Server(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path=tmp_path)
    try:
        server.wait_up()
        yield app, server, request.param
    finally:
        server.stop()


def _lot_in_bidding(app) -> dict:
    """Bidding opened 23 hours ago (24 hours of bidding); the co-owner was registered and told before the notice;
    both bidders paid the deposit an hour ago. All at the server's (wall) clock."""
    with app.app_context():
        session = db.session
        factory = Factory(session)
        now = wall_now().replace(microsecond=0)
        co_owner = factory.user(Role.BIDDER, factory.org(OrgKind.ENTERPRISE, name=CO_OWNER_ORG), name="张共创")
        rival = factory.user(Role.BIDDER, factory.org(OrgKind.INVESTOR, name=RIVAL_ORG), name="李竞买", locale="en")
        listing, _who = build_lot(session, factory, start=now - timedelta(hours=23), hours=24,
                                  preemption=[(co_owner.id, PreemptionKind.CO_OWNER)])
        codes = {who: deposits.pay_deposit(session, user, listing, now - timedelta(hours=1)).code
                 for who, user in (("co_owner", co_owner), ("rival", rival))}
        session.commit()
        assert listing.status is ListingStatus.BIDDING and listing.ends_at > now + timedelta(minutes=30)
        names = [*session.scalars(select(Organisation.name)), *session.scalars(select(User.name))]
        return {"names": names, "lot": listing.id, "co_owner": co_owner.email, "co_owner_id": co_owner.id,
                "rival": rival.email, "codes": codes, "title": listing.title}


def _bid(page, t):
    page.get_by_role("button", name=t["bid"], exact=True).click()
    with page.expect_navigation():
        page.get_by_role("button", name=t["confirm"]).click()
    expect(page.locator("ul.flashes")).to_contain_text(t["accepted"])


def test_the_server_closes_a_tied_lot_for_the_pre_emption_holder(real_server, page_for):
    app, server, database = real_server
    story = _lot_in_bidding(app)
    lot_url = f"{server.url}/exchange/{story['lot']}"
    data = [*story["names"], story["title"]]  # the people's and organisations' names, the lot's title
    step = iter(range(1, 100))

    def shot(page, lang, name):
        screenshot(page, f"scheduled-close/{database}/{next(step):02d}-{name}")
        left = leaks(visible_text(page.content()), TEXT[lang]["locale"], data)
        assert not left, f"{name} shows text not in {lang}: {sorted(left)}"

    zh, en = TEXT["zh"], TEXT["en"]
    holder, rival = page_for(), page_for("en-US")
    for page, email in ((holder, story["co_owner"]), (rival, story["rival"])):
        log_in_page(page, server.url, email)
        page.goto(lot_url)
        expect(page.locator("#auction")).to_have_attribute("data-updated", re.compile(r"\d"), timeout=8000)
    assert holder.locator("[data-test=holder-note]").is_visible()
    expect(holder.locator("[data-field=status]")).to_have_text(zh["bidding"])

    # The rival bids the starting price; the co-owner's open page offers to match it, and the co-owner does.
    _bid(rival, en)
    expect(holder.locator("[data-test=bids]")).to_contain_text("¥700,000.00", timeout=8000)
    expect(holder.locator("[data-test=bid-form] input[name=amount]")).to_have_value("700000.00")
    shot(holder, "zh", "co-owner-sees-the-bid")
    _bid(holder, zh)
    expect(holder.locator("[data-test=standing]")).to_have_text(zh["leading"])

    # The rival's open page: the tie went to the pre-emption right, at the same price.
    expect(rival.locator("[data-test=bids]")).to_contain_text(en["preemption"], timeout=8000)
    expect(rival.locator("[data-test=standing]")).to_have_text(en["outbid"], timeout=8000)
    expect(rival.locator("[data-field=current_price]")).to_have_text("¥700,000.00")
    shot(rival, "en", "rival-sees-the-tie")

    # The lot now ends in 4 s. Nobody runs a command: the server's scheduler closes it.
    for page in (holder, rival):
        page.evaluate("window.__noReload = 1")
    with app.app_context():
        lot = db.session.get(Listing, story["lot"])
        lot.ends_at = wall_now().replace(microsecond=0) + timedelta(seconds=4)
        db.session.commit()
        ends_at = lot.ends_at
    expect(rival.locator("[data-field=status]")).to_have_text(en["sold"], timeout=15000)
    seen_after = (wall_now() - ends_at).total_seconds()
    expect(holder.locator("[data-field=status]")).to_have_text(zh["sold"], timeout=3000)
    assert seen_after < 8, f"the page showed the close {seen_after:.1f} s after the end:\n{server.tail()}"
    winner = f"{story['codes']['co_owner']} · "
    expect(rival.locator("[data-test=outcome]")).to_contain_text(f"{en['winner']}: {en['bidder']} {winner}")
    expect(rival.locator("[data-test=outcome]")).to_contain_text("¥700,000.00")
    expect(holder.locator("[data-test=outcome]")).to_contain_text(f"{zh['bidder']} {winner}")
    for page in (holder, rival):
        expect(page.locator("[data-test=bid-form]")).to_be_hidden()
        assert page.evaluate("window.__noReload") == 1  # seen live, not after a reload
    shot(rival, "en", "rival-sees-it-sold")
    holder.reload()
    expect(holder.locator("main")).to_contain_text(zh["won"])
    shot(holder, "zh", "co-owner-won")

    # Closed by the server process's clock (no command ran here), sold to the co-owner at the tied price.
    with app.app_context():
        session = db.session
        lot = session.get(Listing, story["lot"])
        assert (lot.status, lot.winner_id, lot.sale_price) == (
            ListingStatus.SOLD, story["co_owner_id"], Decimal("700000.00"))
        assert session.get(ClockRun, "auctions").holder.endswith(f":{server.proc.pid}")
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_id == str(lot.id), AuditEntry.action == "listing.sold",
            AuditEntry.actor_id.is_(None))) == 1
        assert session.scalar(select(Deposit.code).where(Deposit.listing_id == lot.id,
                                                         Deposit.bidder_id == story["co_owner_id"])) \
            == story["codes"]["co_owner"]
