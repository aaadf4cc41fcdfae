"""The patent search page at 1366 px in a real browser (issue #16 §2): the facet column folds and stays short (it
was 6,373 px tall), and the results table fits without cutting the owner column."""

from __future__ import annotations

from datetime import date

import pytest

from market.accounts.models import OrgKind, Role
from market.db import db
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import NOW, PASSWORD, Factory, screenshot

pytestmark = pytest.mark.browser

SECTIONS = "ABCDEFGH"
DISTRICTS = ["500101", "500102", "500103", "500104", "500105", "500106", "500107", "500108", "500112", "500113",
             "500114", "500115", "500116"]


def test_facets_fold_short_and_the_table_fits_1366(live_server, page_for):
    app, url = live_server
    with app.app_context():
        factory = Factory(db.session)
        bank = factory.user(Role.BANK)
        for n in range(60):  # many values in every facet, long owner names and several IPC codes
            owner = factory.org(OrgKind.ENTERPRISE, name=f"重庆市第{n}号高新技术产业发展股份有限公司",
                                district_code=DISTRICTS[n % len(DISTRICTS)])
            section = SECTIONS[n % len(SECTIONS)]
            db.session.add(IpAsset(
                kind=[IpKind.INVENTION, IpKind.UTILITY_MODEL, IpKind.DESIGN][n % 3],
                application_number=f"20211{n:07d}X", publication_number=f"CN11{n:07d}B",
                title=f"一种用于新能源汽车动力电池包的热管理与安全防护装置及其控制方法{n}",
                ipc_codes=[f"{section}{n % 90 + 1:02d}{'ABCDEFGHJK'[n % 10]}{n % 30 + 1}/{n % 97:02d}",
                           f"H01M10/{n % 50 + 10}", "G06F16/00", "B60L58/12"],
                owner_org_id=owner.id, legal_status=[LegalStatus.GRANTED, LegalStatus.APPLICATION][n % 2],
                pledge_state=PledgeState.FREE, filing_date=date(2015 + n % 10, 1, 5), created_at=NOW,
                updated_at=NOW))
        db.session.commit()
        email = bank.email
    page = page_for()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(url + "/workspace")
    page.goto(url + "/patents?per_page=20")
    assert page.locator("[data-test=hit]").count() == 20
    facets = page.locator("[data-test=facets]")
    height = facets.evaluate("e => e.getBoundingClientRect().height")
    assert height < 1800, height  # was 6,373 px
    page.locator("[data-test=facets] > summary").click()  # the whole column folds
    assert facets.evaluate("e => e.getBoundingClientRect().height") < 60
    owner = page.locator("table.data thead th").last
    right = owner.evaluate("e => e.getBoundingClientRect().right")
    assert right <= 1366, right
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    screenshot(page, "patent-search-1366")
