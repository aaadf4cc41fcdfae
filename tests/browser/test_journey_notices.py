"""Every party is told and sees what waits for it, in a real browser, in Chinese and in English, on SQLite and
PostgreSQL: a bank's claim and offer reach the enterprise as notices (the header counts the unread ones, shown in
Beijing time); the enterprise's workspace lists the offer to answer with the working days left; once it accepts,
the bank's workspace lists the loan to sign and its header counts the acceptance notice. Reading a notice lowers the
count. Screenshots go to MARKET_ARTIFACTS_DIR/screenshots/notices/<lang>/<database>/."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.accounts.models import User
from market.db import db, utcnow
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from market.needs import docking, service
from market.needs.rules import REVIEW_CHECKLIST
from market.needs.service import NeedInput
from tests.browser.test_journey_need_to_loan import journey_server, log_in  # noqa: F401  (a fixture)
from tests.conftest import screenshot
from tests.language import leaks, visible_text

pytestmark = pytest.mark.browser

PASSWORD = "Chongqing2026notice"
ENT_ORG, BANK_ORG, STAFF_ORG = "重庆通知测试科技有限公司", "重庆通知测试银行", "重庆联合产权交易所知识产权交易分所"
NEED_TITLE = "通知测试产线扩产"
PATENT = "一种通知测试用电池极片"
DATA = [ENT_ORG, BANK_ORG, STAFF_ORG, NEED_TITLE, PATENT, "购置涂布设备", "李明", "周静", "王芳"]
TEXT = {
    "zh": {"offer_notice": f"{BANK_ORG} 对您的融资需求“{NEED_TITLE}”提出了报价，请答复。", "waiting": "待办事项",
           "left": "剩余 5 个工作日", "answer": f"答复{BANK_ORG}对“{NEED_TITLE}”的报价", "accept": "接受",
           "sign": f"签订“{NEED_TITLE}”已接受报价的贷款", "notices": "通知"},
    "en": {"offer_notice": f"{BANK_ORG} made an offer on your financing need “{NEED_TITLE}”: answer it.",
           "waiting": "Waiting for you", "left": "Working days left: 5",
           "answer": f"Answer the offer of {BANK_ORG} on “{NEED_TITLE}”", "accept": "Accept",
           "sign": f"Sign the loan of your accepted offer on “{NEED_TITLE}”", "notices": "Notices"},
}


def _make_people_and_offer(app) -> None:
    runner = app.test_cli_runner()
    for email, role, org, name in (("ent@notice.cq", "enterprise", ENT_ORG, "李明"),
                                   ("bank@notice.cq", "bank", BANK_ORG, "周静"),
                                   ("staff@notice.cq", "staff", STAFF_ORG, "王芳")):
        result = runner.invoke(args=["users", "create", "--email", email, "--password", PASSWORD, "--role", role,
                                     "--org", org, "--name", name])
        assert result.exit_code == 0, result.output
    with app.app_context():
        session = db.session
        users = {u.role.value: u for u in session.scalars(select(User))}
        now = utcnow()
        asset = IpAsset(kind=IpKind.INVENTION, application_number="2021100000013", title=PATENT,
                        ipc_codes=["H01M10/0525"], owner_org_id=users["enterprise"].organisation_id,
                        legal_status=LegalStatus.GRANTED, pledge_state=PledgeState.FREE, filing_date=date(2021, 1, 4),
                        created_at=now, updated_at=now)
        session.add(asset)
        session.flush()
        need = service.create_need(session, users["enterprise"], NeedInput(
            title=NEED_TITLE, amount=Decimal("3000000"), term_months=12, purpose="购置涂布设备",
            max_rate=Decimal("0.06"), asset_ids=[asset.id]), now, submit=True)
        service.review_need(session, users["staff"], need.id, True, {k: True for k, _l in REVIEW_CHECKLIST}, None,
                            now)
        docking.claim_need(session, users["bank"], need.id, now)
        docking.make_offer(session, users["bank"], need.id, Decimal("2800000"), Decimal("0.05"), 12, now)
        session.commit()


def _count(page) -> int:
    badge = page.locator("[data-test=unread-count] .badge")
    return int(badge.inner_text()) if badge.count() else 0


def _switch(page, lang: str) -> None:
    if lang == "en" and page.locator("html").get_attribute("lang") != "en":
        page.locator("[data-test=lang-switch]").click()
        page.wait_for_load_state()


def _one_language(page, lang: str) -> None:
    left = leaks(visible_text(page.content()), "zh_CN" if lang == "zh" else "en", DATA)
    assert not left, left


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_notices_unread_count_and_todo_list(journey_server, page_for, lang):  # noqa: F811
    app, url, database = journey_server
    t = TEXT[lang]
    shot = lambda page, name: screenshot(page, f"notices/{lang}/{database}/{name}")  # noqa: E731
    _make_people_and_offer(app)

    page = page_for()
    log_in(page, url, "ent@notice.cq", PASSWORD)
    _switch(page, lang)
    page.goto(url + "/workspace")
    # Claim, offer and publication: three unread notices, counted in the header.
    assert _count(page) == 3
    todo = page.locator("[data-test=todo]")
    assert t["waiting"] in todo.inner_text()
    item = todo.locator("li", has_text=t["answer"])
    assert t["left"] in item.inner_text()
    _one_language(page, lang)
    shot(page, "enterprise-workspace")

    page.locator("[data-test=unread-count]").click()
    page.wait_for_url(url + "/notices/")
    notices = page.locator("[data-test=notices]")
    assert t["offer_notice"] in notices.inner_text()
    _one_language(page, lang)
    shot(page, "enterprise-notices")
    # Opening a notice marks it read and leads to the need; the count drops by one.
    page.get_by_role("button", name=t["offer_notice"]).click()
    page.wait_for_url(url + "/needs/*")
    assert _count(page) == 2
    page.get_by_role("link", name=t["accept"]).first.click()  # the whole offer, accepted by ticking the agreement
    page.wait_for_url(url + "/needs/offers/*/accept")
    page.check("input[name=agree]")
    page.get_by_role("button", name=t["accept"]).click()
    page.wait_for_url(url + "/needs/*")

    bank = page_for()
    log_in(bank, url, "bank@notice.cq", PASSWORD)
    _switch(bank, lang)
    bank.goto(url + "/workspace")
    assert _count(bank) == 1  # the acceptance
    bank_todo = bank.locator("[data-test=todo]")
    assert t["sign"] in bank_todo.inner_text()
    _one_language(bank, lang)
    shot(bank, "bank-workspace")
    bank_todo.get_by_role("link", name=t["sign"]).click()
    bank.wait_for_url(url + "/loans/from-offer/*")
    shot(bank, "bank-sign-loan")
