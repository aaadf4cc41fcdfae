"""Issue 8's disposal journey in a real browser, in Chinese and in English: a pledge loan goes overdue and the bank
declares it in default; exchange staff list the pledge through the disposal desk (due diligence, review, announcement);
two bidder organisations pay deposits and bid live against each other, each seeing the other's bid appear without a
reload; the auction clock closes the lot; the winner pays (the pledge is released, the right passes to the buyer);
the loss goes to the bank's compensation claim with the recovery, staff approve it and the fund pays; the public pages
show the completed disposal with its price and the compensation paid for the loan.

Time. The app has no clock setting: every view and command reads `market.db.utcnow()` (services take `now` from
them). The loan's history before the default is written with services at past times, as the other tests do; from the
default on, the journey runs through the real UI and the real `auctions tick` / `tick --only loans` commands, and
the 30-day announcement and the bidding day pass by moving that one time source forward (`Clock`), so the server, the
commands and the browser's countdown (which follows the server's time) all see the same moved clock. Nothing sleeps.
Screenshots: disposal/<lang>/NN-step.png under MARKET_ARTIFACTS_DIR.
"""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

import market.db
from market.accounts.models import OrgKind, Role
from market.db import db
from market.exchange.models import Deposit, DepositStatus, Listing, ListingStatus, Transfer
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from market.loans import access, fund, repayments, schedule
from market.loans.models import CompensationClaim, CompensationStatus, LoanStatus
from tests.conftest import DATABASES, PG_URL, Factory, log_in_page, screenshot
from tests.factories import confirmed_loan

pytestmark = pytest.mark.browser

TITLE = "一种车规级碳化硅功率模块的封装方法"
VALUATION = Decimal("2000000.00")  # entered by staff: starting price 70 % = ¥1,400,000, deposit 10 %, increment 1 %
PRINCIPAL = Decimal("3000000.00")
BANK = "重庆农村商业银行两江分行"

# What each person reads on the pages, per language (the msgids' translations in the area .po files).
TEXT = {
    "zh": {
        "locale": "zh_CN", "browser": "zh-CN", "overdue": "逾期", "declare": "宣布违约",
        "declared": "该贷款已宣布违约。", "in_default": "已违约", "in_disposal": "质押物处置中",
        "desk": "待处置的违约贷款", "list": "挂牌处置", "listed": "已挂牌处置，拍品等待审核。",
        "under_review": "审核中", "record_review": "记录审核结果", "announced_flash": "拍品已公告。",
        "announced": "公告中", "due_diligence": "尽职调查", "granted": "已授权，有效", "bidding": "竞价中",
        "pay_deposit": "交纳保证金",
        "deposit_paid": "保证金已交纳", "bidder": "竞买人", "place_bid": "出价", "confirm_bid": "确认出价",
        "accepted": "出价成功。",
        "closed": "竞价已结束", "sold": "已成交", "won": "您已竞得该拍品", "pay_balance": "支付尾款",
        "paid": "付款已记录", "settled": "已结算", "refunded": "保证金退还", "released": "已解除",
        "claim": "风险补偿申请", "submitted": "待审批", "approve": "批准", "decided": "审核结果已保存。",
        "claim_paid": "已支付", "results": "拍卖结果", "compensation": "逐笔贷款的风险补偿",
        "fund_entry": "风险补偿", "fund_memo": "贷款 {loan} 的风险补偿",
    },
    "en": {
        "locale": "en", "browser": "en-US", "overdue": "Overdue", "declare": "Declare default",
        "declared": "The loan was declared in default.", "in_default": "In default",
        "in_disposal": "Pledges in disposal", "desk": "Defaulted loans awaiting disposal", "list": "List for disposal",
        "listed": "Listed for disposal; the lots await review.", "under_review": "Under review",
        "record_review": "Record the review", "announced_flash": "The lot is announced.", "announced": "Announced",
        "due_diligence": "Due diligence", "granted": "Granted, in force", "bidding": "Bidding",
        "pay_deposit": "Pay the deposit",
        "deposit_paid": "Deposit paid", "bidder": "Bidder", "place_bid": "Place bid", "confirm_bid": "Confirm the bid",
        "accepted": "Your bid was accepted.", "closed": "Bidding closed", "sold": "Sold", "won": "You won this lot",
        "pay_balance": "Pay the balance", "paid": "Payment recorded", "settled": "Settled",
        "refunded": "Deposit refunded", "released": "released", "claim": "Compensation claim",
        "submitted": "Awaiting approval", "approve": "Approve", "decided": "Decision saved.", "claim_paid": "Paid",
        "results": "Auction results", "compensation": "Compensation paid per loan",
        "fund_entry": "Risk compensation", "fund_memo": "Compensation for loan {loan}",
    },
}


class Clock:
    """The app's one time source, `market.db.utcnow`, moved forward by an offset the test advances.

    Replaced in every loaded `market` module that imported it (views, API, commands), so the live server's threads,
    the CLI commands run here and the services they call all read the moved time."""

    def __init__(self, monkeypatch):
        self.offset = timedelta(0)
        real = market.db.utcnow
        self._real = real

        def utcnow():
            return real() + self.offset

        for name, module in list(sys.modules.items()):
            if (name == "market" or name.startswith("market.")) and getattr(module, "utcnow", None) is real:
                monkeypatch.setattr(module, "utcnow", utcnow)

    def now(self):
        return self._real() + self.offset

    def advance_to(self, moment):
        """Move the clock forward so that it reads `moment` now (never backwards)."""
        delta = moment - self.now()
        assert delta > timedelta(0), (moment, self.now())
        self.offset += delta


@pytest.fixture(params=DATABASES)
def served(request, make_app):
    """Like tests.conftest.live_server (waitress, CSRF on), on each configured database: SQLite, and PostgreSQL
    (a private database, MARKET_TEST_POSTGRESQL_URL_2) when configured."""
    from tests.serving import serving

    url = PG_URL if request.param == "postgresql" else None
    application = make_app(url=url, WTF_CSRF_ENABLED=True, SERVER_NAME=None)
    with serving(application) as base:
        yield application, base, request.param


def _flash(page):
    return page.locator("ul.flashes").inner_text()


def _history(app, locale):
    """People, the pledged patent and the loan signed eight months ago, of which two instalments were repaid."""
    with app.app_context():
        session = db.session
        factory = Factory(session)
        today = market.db.utcnow().date()
        enterprise = factory.org(OrgKind.ENTERPRISE, name="重庆芯动力电子科技有限公司")
        bank = factory.user(Role.BANK, factory.org(OrgKind.BANK, name=BANK), locale=locale)
        staff = factory.user(Role.STAFF, locale=locale)
        alice = factory.user(Role.BIDDER, factory.org(OrgKind.INVESTOR, name="重庆两江新能源投资有限公司"),
                             locale=locale)
        bob = factory.user(Role.BIDDER, factory.org(OrgKind.INVESTOR, name="成都天府知识产权运营有限公司"),
                           locale=locale)
        signed_on = schedule.add_months(today, -8)
        signed_at = market.db.utcnow() - (today - signed_on)
        asset = IpAsset(kind=IpKind.INVENTION, application_number="202310456789.1", title=TITLE,
                        ipc_codes=["H01L23/31"], owner_org_id=enterprise.id, legal_status=LegalStatus.GRANTED,
                        pledge_state=PledgeState.FREE, filing_date=date(2023, 3, 14), grant_date=date(2024, 9, 3),
                        frozen=False, created_at=signed_at, updated_at=signed_at)
        session.add(asset)
        session.flush()
        loan = confirmed_loan(session, bank, enterprise, principal=PRINCIPAL,
                               annual_rate=Decimal("0.0520"), term_months=12, asset_ids=[asset.id],
                               signed_on=signed_on, now=signed_at, registration_number="渝知质登字2026第0518号")
        for item in schedule.loan_schedule(loan)[:2]:
            repayments.record_repayment(session, bank, loan.id, paid_on=item.due_on, principal=item.principal,
                                        interest=item.interest, now=signed_at + (item.due_on - signed_on))
        session.commit()
        assert loan.rate_within_cap
        return {"loan": loan.id, "asset": asset.id, "enterprise": enterprise.id, "bank": bank.email,
                "staff": staff.email, "alice": alice.email, "bob": bob.email, "alice_org": alice.organisation_id,
                "outstanding": schedule.outstanding_principal(loan)}


def _lot(app, loan_id) -> Listing:
    with app.app_context():
        listing = db.session.scalar(select(Listing).where(Listing.loan_id == loan_id))
        db.session.expunge_all()
        return listing


def _tick(app):
    result = app.test_cli_runner().invoke(args=["auctions", "tick"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_default_to_compensation(served, page_for, monkeypatch, lang):
    app, url, database = served
    t = TEXT[lang]
    shot = f"disposal/{lang}/" + ("" if database == "sqlite" else f"{database}-")
    clock = Clock(monkeypatch)
    story = _history(app, t["locale"])
    loan_path = f"{url}/loans/{story['loan']}"

    # The post-loan run finds the loan overdue (the third instalment was not paid).
    with app.app_context():  # the command relies on the `market` group for its app context
        result = app.test_cli_runner().invoke(args=["tick", "--only", "loans"])
    assert result.exit_code == 0 and "overdue: 1" in result.output, result.output

    # The bank sees it overdue and declares the default.
    bank = page_for(t["browser"])
    log_in_page(bank, url, story["bank"])
    bank.goto(loan_path)
    assert t["overdue"] in bank.locator("h1").inner_text()
    screenshot(bank, shot + "01-loan-overdue")
    form = bank.locator("[data-test=declare-default]")
    form.locator("textarea").fill("连续逾期超过90天 / overdue for more than 90 days")
    form.locator("input[type=checkbox]").check()
    form.get_by_role("button", name=t["declare"]).click()
    bank.wait_for_url(loan_path)
    assert t["declared"] in _flash(bank)
    assert t["in_default"] in bank.locator("h1").inner_text()
    screenshot(bank, shot + "02-loan-defaulted")

    # Exchange staff list the pledge through the disposal desk with its valuation.
    staff = page_for(t["browser"])
    log_in_page(staff, url, story["staff"])
    staff.goto(url + "/exchange/staff/")
    desk = staff.locator("[data-test=loans-to-list]")
    assert t["desk"] in desk.inner_text() and f"#{story['loan']}" in desk.inner_text()
    screenshot(staff, shot + "03-disposal-desk")
    desk.get_by_role("link", name=t["list"]).click()
    staff.wait_for_url(f"{url}/exchange/staff/loans/{story['loan']}/list")
    assert TITLE in staff.content()
    staff.fill(f"input[name=valuation_{story['asset']}]", str(VALUATION))
    screenshot(staff, shot + "04-list-for-disposal")
    staff.locator("[data-test=list-loan-form] button[type=submit]").click()
    staff.wait_for_url(re.compile(r".*/exchange/staff/\d+$"))
    assert t["listed"] in _flash(staff)
    assert staff.locator("[data-test=status]").inner_text() == t["under_review"]
    lot = _lot(app, story["loan"])
    assert (lot.starting_price, lot.deposit_amount, lot.increment) == (
        Decimal("1400000.00"), Decimal("140000.00"), Decimal("14000.00"))
    dd = staff.locator("[data-test=due-diligence]").inner_text()
    assert t["granted"] in dd  # the legal status, in the page's language
    assert "202310456789.1" in dd and "H01L23/31" in dd and "渝知质登字2026第0518号" in dd
    assert f"#{story['loan']}" in dd and "2,500,000.00" in dd  # the default record: outstanding principal

    # Review with the checklist; approval announces the lot (the parties and the field's owners are told).
    review = staff.locator("[data-test=review-form]")
    for box in review.locator("input[type=checkbox]").all():
        box.check()
    screenshot(staff, shot + "05-review-checklist")
    review.get_by_role("button", name=t["record_review"]).click()
    staff.wait_for_url(re.compile(rf".*/exchange/staff/{lot.id}$"))
    assert t["announced_flash"] in _flash(staff)
    assert staff.locator("[data-test=status]").inner_text() == t["announced"]
    with app.app_context():
        assert db.session.get(IpAsset, story["asset"]).pledge_state is PledgeState.IN_DISPOSAL
        assert access.get_loan(db.session, story["loan"]).status is LoanStatus.IN_DISPOSAL

    # Two bidder organisations read the announcement: the due-diligence pack, bidding in 30 days.
    alice, bob = page_for(t["browser"]), page_for(t["browser"])
    lot_url = f"{url}/exchange/{lot.id}"
    for page, email in ((alice, story["alice"]), (bob, story["bob"])):
        log_in_page(page, url, email)
        page.goto(lot_url)
        assert page.locator("[data-field=status]").inner_text() == t["announced"]
        assert t["due_diligence"] in page.content()
    screenshot(alice, shot + "06-lot-announced")

    # The 30-day announcement passes; the auction clock opens the lot.
    clock.advance_to(lot.bidding_starts_at + timedelta(minutes=1))
    assert "1 opened" in _tick(app)

    # Each pays the deposit and gets a bidder code.
    codes = {}
    for name, page in (("alice", alice), ("bob", bob)):
        page.goto(lot_url)
        assert page.locator("[data-field=status]").inner_text() == t["bidding"]
        page.locator("[data-test=deposit-form] input[name=accept]").check()  # the announcement and terms
        page.get_by_role("button", name=re.compile(t["pay_deposit"])).click()
        page.wait_for_url(lot_url)
        assert t["deposit_paid"] in _flash(page)
        codes[name] = re.search(r"\b([0-9A-F]{4})\b", _flash(page)).group(1)
        expect(page.locator("[data-test=bid-form] input[name=amount]")).to_have_value("1400000.00")
    screenshot(bob, shot + "07-deposits-paid")
    for page in (alice, bob):
        page.evaluate("window.__noReload = 1")

    # Live bidding: each sees the other's bid appear without a reload; the poller raises the prefilled amount.
    bids = bob.locator("[data-test=bids]")
    alice.get_by_role("button", name=t["place_bid"]).click()  # the starting price, prefilled
    with alice.expect_navigation():
        alice.get_by_role("button", name=t["confirm_bid"]).click()
    assert t["accepted"] in _flash(alice)
    alice.evaluate("window.__noReload = 1")
    expect(bids).to_contain_text(f"{t['bidder']} {codes['alice']} · ¥1,400,000.00", timeout=8000)
    expect(bob.locator("[data-test=bid-form] input[name=amount]")).to_have_value("1414000.00", timeout=8000)
    assert bob.evaluate("window.__noReload") == 1
    screenshot(bob, shot + "08-bob-sees-alice")
    bob.get_by_role("button", name=t["place_bid"]).click()
    with bob.expect_navigation():
        bob.get_by_role("button", name=t["confirm_bid"]).click()
    assert t["accepted"] in _flash(bob)
    bob.evaluate("window.__noReload = 1")
    expect(alice.locator("[data-test=bids]")).to_contain_text(f"{codes['bob']} · ¥1,414,000.00", timeout=8000)
    expect(alice.locator("[data-field=current_price]")).to_have_text("¥1,414,000.00", timeout=8000)
    assert alice.evaluate("window.__noReload") == 1
    screenshot(alice, shot + "09-alice-sees-bob")

    # Two minutes before the end Alice raises to ¥1,512,000 (on the grid: ¥1,414,000 + 7 × ¥14,000): the end moves
    # to five minutes after her bid.
    lot = _lot(app, story["loan"])
    clock.advance_to(lot.ends_at - timedelta(minutes=2))
    alice.fill("[data-test=bid-form] input[name=amount]", "1512000")
    alice.get_by_role("button", name=t["place_bid"]).click()
    with alice.expect_navigation():
        alice.get_by_role("button", name=t["confirm_bid"]).click()
    assert t["accepted"] in _flash(alice)
    expect(bids).to_contain_text(f"{codes['alice']} · ¥1,512,000.00", timeout=8000)
    expect(bob.locator("[data-field=countdown]")).to_have_text(re.compile(r"^0:0[45]:"), timeout=8000)
    assert bob.evaluate("window.__noReload") == 1
    screenshot(bob, shot + "10-late-bid-extends")
    lot = _lot(app, story["loan"])
    assert lot.ends_at == lot.updated_at + timedelta(minutes=5) and lot.bid_count == 3

    # Nobody bids in the five minutes after: the auction clock closes the lot, sold to Alice.
    clock.advance_to(lot.ends_at + timedelta(seconds=1))
    assert "1 closed" in _tick(app)
    for page in (alice, bob):  # the open pages see the close live, the result on the next load
        expect(page.locator("[data-field=countdown]")).to_have_text(t["closed"], timeout=8000)
        page.reload()
        assert page.locator("[data-field=status]").inner_text() == t["sold"]
        assert f"{t['bidder']} {codes['alice']}" in page.locator("#auction").inner_text()  # the winner, by code
    assert t["refunded"] in bob.locator("[data-test=ledger]").inner_text()
    screenshot(bob, shot + "11-closed-bob-refunded")

    # Settlement: the winner pays the balance (deposit applied); the right passes to her, the pledge is released.
    assert t["won"] in alice.content()
    pay = alice.locator("[data-test=pay-form] button")
    assert "1,372,000.00" in pay.inner_text()  # ¥1,512,000 less the ¥140,000 deposit
    screenshot(alice, shot + "12-winner-pays")
    pay.click()
    alice.wait_for_url(lot_url)
    assert t["paid"] in _flash(alice)
    assert alice.locator("[data-field=status]").inner_text() == t["settled"]
    screenshot(alice, shot + "13-settled")
    with app.app_context():
        session = db.session
        asset = session.get(IpAsset, story["asset"])
        assert (asset.owner_org_id, asset.pledge_state) == (story["alice_org"], PledgeState.FREE)
        transfer = session.scalar(select(Transfer).where(Transfer.listing_id == lot.id))
        assert transfer.price == Decimal("1512000.00")
        deposits = {d.code: d.status for d in session.scalars(select(Deposit).where(Deposit.listing_id == lot.id))}
        assert deposits == {codes["alice"]: DepositStatus.APPLIED, codes["bob"]: DepositStatus.REFUNDED}
        assert session.get(Listing, lot.id).status is ListingStatus.SETTLED
        claim = session.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == story["loan"]))
        # loss = outstanding principal − recovery; 30 % of it (under the ¥1,500,000 cap) since the rate was in the cap
        loss = story["outstanding"] - Decimal("1512000.00")
        assert (claim.recovery, claim.loss, claim.status) == (Decimal("1512000.00"), loss,
                                                              CompensationStatus.SUBMITTED)
        compensation = (loss * Decimal("0.30")).quantize(Decimal("0.01"))
        assert claim.compensation == compensation
    comp_text = f"{compensation:,.2f}"

    # The bank's loan page: the pledge released, the claim with the recovery, awaiting approval.
    bank.goto(loan_path)
    assert t["released"] in bank.content()
    claim_box = bank.locator("[data-test=claim]")
    assert t["claim"] in claim_box.inner_text() and t["submitted"] in claim_box.inner_text()
    assert "1,512,000.00" in claim_box.inner_text() and comp_text in claim_box.inner_text()
    screenshot(bank, shot + "14-bank-claim")

    # Staff approve the claim; the fund pays it at once (it holds the first ¥25,000,000).
    staff.goto(url + "/loans/claims")
    row = staff.locator("tr", has=staff.locator(f"a[href='/loans/{story['loan']}']"))
    assert t["submitted"] in row.inner_text()
    screenshot(staff, shot + "15-claims-queue")
    row.locator("a[href^='/loans/claims/']").click()
    assert staff.locator("[data-test=checklist] [data-ok=no]").count() == 0  # every fact holds
    staff.locator("[data-test=approve] button").click()
    assert t["decided"] in _flash(staff)
    staff.goto(url + "/loans/claims")
    row = staff.locator("tr", has=staff.locator(f"a[href='/loans/{story['loan']}']"))
    assert t["claim_paid"] in row.inner_text()
    screenshot(staff, shot + "16-claim-paid")
    with app.app_context():
        assert fund.fund_balance(db.session) == Decimal("25000000.00") - compensation
    staff.goto(url + "/loans/fund")
    balance = Decimal("25000000.00") - compensation
    assert staff.locator("[data-test=fund-balance]").inner_text() == f"¥{balance:,.2f}"
    entry = staff.locator("[data-test=fund-ledger] tr").first.inner_text()  # newest first
    assert t["fund_entry"] in entry and t["fund_memo"].format(loan=story["loan"]) in entry and comp_text in entry
    screenshot(staff, shot + "17-fund-ledger")
    bank.goto(loan_path)
    assert t["claim_paid"] in bank.locator("[data-test=claim]").inner_text()

    # The public, without logging in, in the run's language: the completed disposal and the compensation paid.
    public = page_for(t["browser"])
    public.goto(url + "/exchange/results")
    if lang == "en":
        public.locator("[data-test=lang-switch]").click()
        public.wait_for_url(url + "/exchange/results")
    assert t["results"] in public.locator("h1").inner_text()
    row = public.locator("[data-test=results] tr", has=public.get_by_role("link", name=TITLE))
    text = row.inner_text()
    assert t["settled"] in text and f"{t['bidder']} {codes['alice']}" in text
    assert "¥1,512,000.00" in text and "75.60%" in text  # the sale price against the ¥2,000,000 valuation
    screenshot(public, shot + "18-public-results")
    public.goto(url + "/stats/compensation")
    assert t["compensation"] in public.locator("h1").inner_text()
    row = public.locator("tr", has_text=re.compile(rf"^\s*{story['loan']}\b"))
    text = row.inner_text()
    assert BANK in text and "重庆**科技有限公司" in text and "1,512,000.00" in text and comp_text in text
    assert "芯动力" not in public.content()  # the enterprise's name is masked on the open page
    screenshot(public, shot + "19-public-compensation")
