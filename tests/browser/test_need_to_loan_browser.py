"""Issue 4's story in a real browser, to the loan: an enterprise posts a need offering two of its patents; staff
publish it; it appears in the bulletin and in search; a bank sees it ranked with reasons, claims it and makes an
offer; the enterprise accepts; the bank signs the loan and the need page follows it (贷后维护). Three people, three
browser contexts, Chinese UI."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.accounts.models import Role
from market.db import db, utcnow
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from market.loans.models import Loan
from market.needs import docking
from market.needs.models import Need, NeedStatus
from tests.conftest import PASSWORD, Factory, screenshot

pytestmark = pytest.mark.browser
TITLE = "固态电池中试线扩产"


def _log_in(page, url, email):
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(url + "/workspace")


def _setup(app):
    with app.app_context():
        session = db.session
        factory = Factory(session)
        ent, staff, bank = factory.user(Role.ENTERPRISE), factory.user(Role.STAFF), factory.user(Role.BANK)
        now = utcnow()
        patents = []
        for n, (kind, title, ipc) in enumerate([
                (IpKind.INVENTION, "一种硫化物固态电解质的制备方法", "H01M10/0562"),
                (IpKind.UTILITY_MODEL, "一种固态电池叠片装置", "H01M10/04")], start=1):
            asset = IpAsset(kind=kind, application_number=f"20261000{n:04d}X", title=title, ipc_codes=[ipc],
                            owner_org_id=ent.organisation_id, legal_status=LegalStatus.GRANTED,
                            pledge_state=PledgeState.FREE, created_at=now, updated_at=now)
            session.add(asset)
            patents.append(asset)
        docking.save_product(session, bank, docking.ProductInput(
            name="科创知识产权质押贷", min_amount=Decimal("1000000"), max_amount=Decimal("10000000"),
            min_term_months=6, max_term_months=36, min_rate=Decimal("0.0435"), max_rate=Decimal("0.0650"),
            accepted_kinds=["invention", "utility_model"], max_ltv={"invention": Decimal("0.40")}), now)
        session.commit()
        return ent.email, staff.email, bank.email, [p.id for p in patents], [p.title for p in patents]


def test_need_to_loan(live_server, page_for):
    app, url = live_server
    ent_email, staff_email, bank_email, patent_ids, patent_titles = _setup(app)

    # The enterprise posts a need offering its two patents and submits it.
    ent = page_for()
    _log_in(ent, url, ent_email)
    ent.goto(url + "/needs/new")
    ent.fill("input[name=title]", TITLE)
    ent.fill("input[name=amount]", "3000000")
    ent.fill("input[name=term_months]", "12")
    ent.fill("input[name=max_rate_pct]", "6.00")
    ent.fill("textarea[name=purpose]", "购置叠片机与化成设备")
    for asset_id in patent_ids:
        ent.check(f"input[name=asset_ids][value='{asset_id}']")
    ent.check("input[name=submit_now]")
    screenshot(ent, "need-new-zh")
    ent.get_by_role("button", name="保存").click()
    ent.wait_for_url(url + "/needs/*")
    assert "待审核" in ent.content()
    need_path = ent.url.replace(url, "")
    need_id = int(need_path.rstrip("/").split("/")[-1])

    # Staff review and publish it.
    staff = page_for()
    _log_in(staff, url, staff_email)
    staff.goto(url + "/needs/review")
    staff.get_by_role("link", name=TITLE).click()
    for box in ("identity", "assets", "terms", "purpose"):
        staff.check(f"input[name={box}]")
    screenshot(staff, "need-review-zh")
    staff.locator("button[name=decision][value=publish]").click()
    staff.wait_for_url(url + "/needs/review")
    with app.app_context():
        assert db.session.get(Need, need_id).status is NeedStatus.PUBLISHED
    # The period's bulletin is published (the command staff run).
    until = (utcnow().date() + timedelta(days=1)).isoformat()
    result = app.test_cli_runner().invoke(args=["bulletin", "publish", "--until", until])
    assert result.exit_code == 0, result.output

    # A bank: the bulletin, the search, its ranked list with reasons.
    bank = page_for()
    _log_in(bank, url, bank_email)
    number = int(re.search(r"Bulletin No\. (\d+)", result.output).group(1))
    bank.goto(url + "/bulletins/")
    bank.locator(f"a[href='/bulletins/{number}']").first.click()
    bank.wait_for_url(url + f"/bulletins/{number}")
    assert TITLE in bank.content()
    screenshot(bank, "need-bulletin-zh")
    bank.goto(url + "/needs/?q=电池")
    assert bank.locator(f"tr[data-need='{need_id}']").count() == 1
    screenshot(bank, "need-search-zh")
    bank.goto(url + "/needs/bank")
    row = bank.locator(f"table.ranked tr[data-need='{need_id}']")
    assert row.count() == 1
    assert "/100" in row.inner_text() and row.locator("ul.reasons li.fits").count() >= 1
    screenshot(bank, "need-bank-ranked-zh")
    row.get_by_role("link", name=TITLE).click()
    bank.get_by_role("button", name="认领此需求").click()
    bank.wait_for_url(url + need_path)
    offer_form = bank.locator(f"form[action='/needs/{need_id}/offer']")
    offer_form.locator("input[name=amount]").fill("2800000")
    offer_form.locator("input[name=annual_rate_pct]").fill("5.20")
    offer_form.locator("input[name=term_months]").fill("12")
    offer_form.locator("button[type=submit]").click()
    bank.wait_for_url(url + need_path)
    screenshot(bank, "need-offer-made-zh")

    # The enterprise accepts the offer.
    ent.goto(url + need_path)
    ent.locator("table.offers form[action$='/accept'] button").click()
    ent.wait_for_url(url + need_path)
    assert "已接受" in ent.locator("table.offers").inner_text()
    screenshot(ent, "need-offer-accepted-zh")

    # The bank signs the loan from the accepted offer (amount, rate, term and assets prefilled).
    bank.goto(url + need_path)
    bank.locator("[data-test=sign-loan] a").click()
    bank.wait_for_url(url + "/loans/from-offer/*")
    terms = bank.locator("[data-test=offer-terms]").inner_text()
    assert "280万" in terms and "5.2" in terms and "12" in terms
    assert all(t in bank.locator("[data-test=pledge-assets]").inner_text() for t in patent_titles)
    bank.fill("input[name=registration_number]", "渝知质登字2026第9001号")
    bank.fill("input[name=signed_on]", date.today().isoformat())
    bank.fill("input[name=registered_on]", date.today().isoformat())
    screenshot(bank, "loan-sign-zh")
    bank.locator("form.form input[type=submit], form.form button[type=submit]").last.click()
    bank.wait_for_url(url + "/loans/*")
    assert "贷款已签订" in bank.content()
    screenshot(bank, "loan-signed-zh")
    with app.app_context():
        need = db.session.get(Need, need_id)
        assert need.status is NeedStatus.FUNDED
        loan = db.session.scalar(select(Loan).where(Loan.offer_id == need.accepted_offer.id))
        assert sorted(p.asset_id for p in loan.pledges) == sorted(patent_ids)
        assert loan.principal == Decimal("2800000.00")

    # Post-loan maintenance on the need page, for the enterprise and the bank.
    for page in (ent, bank):
        page.goto(url + need_path)
        section = page.locator("[data-test=post-loan]")
        assert section.count() == 1
        assert "贷后维护" in section.inner_text() and "正常履约" in section.inner_text()
    screenshot(ent, "need-post-loan-zh")
    # The funded need has left the search index.
    bank.goto(url + "/needs/?q=电池")
    assert bank.locator(f"tr[data-need='{need_id}']").count() == 0
