"""The need form's patent picker in Chromium with JavaScript off (#16 §6): an enterprise with 45 patents types its
need, ticks a patent on page 1, turns to page 3, searches by number, ticks another and saves; what it typed and
ticked survived every page, and the need offers both patents. In Chinese and in English."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from market.accounts.models import User
from market.db import db, utcnow
from market.ip.models import IpAsset, IpKind, LegalStatus
from market.needs.models import Need
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

PASSWORD = "Chongqing2026picker"
TEXT = {"zh-CN": {"search": "搜索", "next": "下一页", "save": "保存", "page3": "第 3 页，共 3 页", "years": "年",
                  "status": "已授权，有效", "free": "未质押"},
        "en": {"search": "Search", "next": "Next", "save": "Save", "page3": "Page 3 of 3", "years": "yrs",
               "status": "Granted, in force", "free": "Not pledged"}}


def _setup(app) -> None:
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "ent@picker.cq", "--password", PASSWORD,
                                                "--role", "enterprise", "--org", "重庆选择器测试科技有限公司"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        owner = db.session.scalar(select(User)).organisation_id
        now = utcnow()
        for n in range(45):
            db.session.add(IpAsset(kind=IpKind.INVENTION, application_number=f"2019100{n:05d}X",
                                   filing_date=date(2019, 5, 1), title=f"一种选择器专利{n:02d}",
                                   ipc_codes=["H01M10/0525"], owner_org_id=owner, legal_status=LegalStatus.GRANTED,
                                   created_at=now, updated_at=now))
        db.session.commit()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_picking_across_pages_without_javascript(live_server, browser, locale):
    app, url = live_server
    _setup(app)
    t = TEXT[locale]
    context = browser.new_context(locale=locale, java_script_enabled=False, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.goto(url + "/login")
        page.fill("input[name=email]", "ent@picker.cq")
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(url + "/workspace")
        if locale == "en":
            page.locator("[data-test=lang-switch]").click()
            page.wait_for_url(url + "/workspace")
        page.goto(url + "/needs/new")
        page.fill("input[name=title]", "跨页选择的需求")
        page.fill("input[name=amount]", "2000000")
        page.fill("input[name=term_months]", "12")
        page.fill("input[name=max_rate_pct]", "5.50")
        page.fill("textarea[name=purpose]", "购置设备")
        rows = page.locator("[data-test=picker-rows] tbody tr")
        assert rows.count() == 20
        first = rows.first.inner_text()
        assert "一种选择器专利00" in first and t["years"] in first and t["status"] in first and t["free"] in first
        rows.first.locator("input[type=checkbox]").check()
        page.get_by_role("button", name=re.compile(t["next"])).click()
        page.get_by_role("button", name=re.compile(t["next"])).click()
        assert t["page3"] in page.locator("[data-test=asset-picker]").inner_text()
        assert "一种选择器专利00" in page.locator("[data-test=picker-chosen]").inner_text()
        assert page.input_value("input[name=title]") == "跨页选择的需求"
        assert page.input_value("textarea[name=purpose]") == "购置设备"
        page.fill("#picker_q", "CN201910000044")
        page.get_by_role("button", name=t["search"], exact=True).click()
        assert "一种选择器专利44" in page.locator("[data-test=picker-rows]").inner_text()
        assert page.locator("[data-test=picker-rows] tbody tr").count() == 1
        page.locator("[data-test=picker-rows] tbody input[type=checkbox]").check()
        screenshot(page, f"need-picker-{locale}")
        page.get_by_role("button", name=t["save"], exact=True).click()
        page.wait_for_url(re.compile(r".*/needs/\d+$"))
    finally:
        context.close()
    with app.app_context():
        need = db.session.scalar(select(Need))
        titles = sorted(a.title for a in db.session.scalars(select(IpAsset).where(IpAsset.id.in_(need.asset_ids))))
    assert titles == ["一种选择器专利00", "一种选择器专利44"]
