"""A person in a real browser: signs up, logs out, logs in, switches the language (and it is remembered)."""

from __future__ import annotations

import pytest

from market.demo import credit_code
from tests.conftest import fill_in, screenshot

pytestmark = pytest.mark.browser


def test_sign_up_log_in_and_switch_language(live_server, page_for):
    app, url = live_server
    page = page_for()
    page.goto(url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "知识产权质押融资服务平台" in page.title()
    page.get_by_role("link", name="注册").first.click()
    page.select_option("select[name=role]", "enterprise")
    fill_in(page, name="王五", email="wang@example.cq", password="Chongqing2026x", confirm="Chongqing2026x",
            org_name="重庆浏览器测试科技有限公司", credit_code=credit_code("91500112MA5UB0001"))
    page.select_option("select[name=district_code]", "500112")
    screenshot(page, "signup-zh")
    page.get_by_role("button", name="注册").click()
    page.wait_for_url(url + "/login")
    assert "注册申请已收到" in page.content()
    page.fill("input[name=email]", "wang@example.cq")
    page.fill("input[name=password]", "Chongqing2026x")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(url + "/workspace")
    assert "企业工作台" in page.content()
    assert "等待交易所审核" in page.locator("[data-test=verification-banner]").inner_text()
    screenshot(page, "workspace-zh")

    page.get_by_role("button", name="退出").click()
    page.wait_for_url(url + "/")
    page.get_by_role("link", name="登录").first.click()
    page.fill("input[name=email]", "wang@example.cq")
    page.fill("input[name=password]", "wrong-password-1")
    page.get_by_role("button", name="登录").click()
    assert "电子邮件或密码错误" in page.content()
    page.fill("input[name=password]", "Chongqing2026x")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(url + "/workspace")

    page.locator("[data-test=lang-switch]").click()
    page.wait_for_url(url + "/workspace")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Enterprise workspace" in page.content()
    screenshot(page, "workspace-en")

    # Remembered for the user: a new browser logs in and sees English.
    other = page_for()
    other.goto(url + "/login")
    other.fill("input[name=email]", "wang@example.cq")
    other.fill("input[name=password]", "Chongqing2026x")
    other.get_by_role("button", name="登录").click()
    other.wait_for_url(url + "/workspace")
    assert other.locator("html").get_attribute("lang") == "en"


def test_forms_refuse_bad_input_in_the_chosen_language(live_server, page_for):
    app, url = live_server
    page = page_for()
    page.goto(url + "/signup")
    page.locator("[data-test=lang-switch]").click()
    page.wait_for_url(url + "/signup")
    fill_in(page, name="Wu", email="wu@example.cq", password="short1", confirm="short1", org_name="Test Co",
            credit_code="915001120000000000")
    page.get_by_role("button", name="Sign up").click()
    text = page.content()
    assert "unified social credit code is not valid" in text or "at least 10 characters" in text
