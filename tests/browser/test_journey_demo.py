"""Issue 16 §6 and §7 in a real browser, in Chinese and in English, on SQLite and PostgreSQL, on the demo's data.

The app is loaded the way `market demo` loads it (`market demo --no-serve`: the real patent data sets, 18 months of
needs, bulletins, loans, a defaulted loan disposed of at auction and its compensation claim paid) once per database,
then served by waitress with CSRF on. The walks only read, so both languages and both sections share it.

§6, words not codes and lists that end: each person is named by real name and organisation; statuses, kinds, legal
and pledge states and the matching reasons are words in the page's language; a patent title's sub/superscripts are
characters, not markup; My IP (the 288 patents of the battery maker) and the valuer's /valuations/ (349 reports) come
in pages; the need form's picker names each patent by title, kind, number and pledge state, offers no pledged one and
shows no internal id; the bulletin's Atom summary has no raw code.

§7, a market that has been running: the visitor reads the bulletins (the first, 17 months old, holds the need
published that week), the published needs, the monthly chart (one bar per month a loan was signed), the auction results
of the defaulted loan's sold lots (each linked to the loan) and the compensation paid; the bank's loan page shows the
recovery equal to the lots' prices and the claim paid; staff see no search-index lag and a need-to-loan time in days.

Every screenshot (demo/<lang>/<database>/NN-step.png) is checked to be in the run's language (tests/language.py, the
data strings of the database exempt, as in the language sweep)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from market.accounts.models import User
from market.db import db, utcnow
from market.demo import DEMO_PASSWORD
from market.exchange.models import Listing, ListingStatus
from market.ip.models import IpAsset, PledgeState
from market.loans.models import CompensationClaim, Loan, LoanStatus
from market.needs.models import Bulletin, Need, NeedStatus
from market.valuations.models import Valuation
from tests.conftest import DATABASES, screenshot
from tests.language import leaks, visible_text
from tests.test_language_sweep import data_strings

pytestmark = pytest.mark.browser

PER_PAGE = 30
TEXT = {
    "zh": {"html": "zh-CN", "locale": "zh_CN", "page": "第 {0} 页，共 {1} 页", "next": "下一页 ›",
           "granted": "已授权，有效", "not_pledged": "未质押", "kinds": ("发明专利", "实用新型", "外观设计"),
           "funded": "已放款", "written_off": "已核销", "repaid": "已还清", "performing": "正常履约",
           "imported": "由数据文件 {0} 导入", "settled": "已结算", "released": "已解除", "paid": "已支付",
           "bidder": "竞买人", "loan": "贷款 #{0}", "days": "{0} 天", "signer": "签字评估师", "passed": "✓"},
    "en": {"html": "en", "locale": "en", "page": "Page {0} of {1}", "next": "Next ›",
           "granted": "Granted, in force", "not_pledged": "Not pledged",
           "kinds": ("Invention patent", "Utility model", "Design patent"), "funded": "Funded",
           "written_off": "Written off", "repaid": "Repaid", "performing": "Performing",
           "imported": "Imported from the data file {0}", "settled": "Settled", "released": "released",
           "paid": "Paid", "bidder": "Bidder", "loan": "Loan #{0}", "days": "{0} days", "signer": "Responsible signer",
           "passed": "✓"},
}


@dataclass
class Site:
    app: object
    url: str
    database: str
    data: list[str]


@pytest.fixture(params=DATABASES, scope="module")
def demo_site(request, tmp_path_factory):
    """The demo loaded into a private app (as `market demo` does), served by waitress with CSRF on."""
    from tests.conftest import PG_URL_2, build_app
    from tests.serving import serving

    folder = tmp_path_factory.mktemp(f"demo-journey-{request.param}")
    if request.param == "postgresql":
        url = PG_URL_2 or pytest.fail("MARKET_TEST_POSTGRESQL_URL_2 is needed for a private PostgreSQL app")
    else:
        url = f"sqlite:///{folder / 'demo.sqlite3'}"
    app = build_app(url, SEARCH_EMBEDDED_PATH=str(folder / "search.sqlite3"), WTF_CSRF_ENABLED=True,
                    SERVER_NAME=None)
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    with app.app_context():
        data = data_strings(db.session)
    with serving(app) as base:
        yield Site(app, base, request.param, data)
    with app.app_context():
        db.engine.dispose()


class Walk:
    """People in their own browsers, in the run's language; every screenshot is checked for that language."""

    def __init__(self, site: Site, page_for, lang: str, section: str):
        self.site, self.page_for, self.lang, self.t = site, page_for, lang, TEXT[lang]
        self.folder, self.step = f"demo/{lang}/{site.database}/{section}", 0

    def person(self, email: str | None = None):
        page = self.page_for("zh-CN" if self.lang == "zh" else "en-US")
        page.goto(self.site.url + ("/login" if email else "/"))
        if email:
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.press("input[name=password]", "Enter")
            page.wait_for_url(re.compile(r".*/workspace$"))
        if page.locator("html").get_attribute("lang") != self.t["html"]:  # Chinese by default; a user keeps theirs
            with page.expect_navigation():
                page.locator("[data-test=lang-switch]").click()
        expect(page.locator("html")).to_have_attribute("lang", self.t["html"])
        return page

    def go(self, page, path: str):
        response = page.goto(self.site.url + path)
        assert response.status == 200, (path, response.status)

    def check(self, page, name: str) -> None:
        self.step += 1
        screenshot(page, f"{self.folder}-{self.step:02d}-{name}")
        left = leaks(visible_text(page.content()), self.t["locale"], self.site.data)
        assert not left, f"{name} ({page.url}) shows text not in {self.lang}: {sorted(left)}"


def _user(session, email: str) -> User:
    return session.scalar(select(User).where(User.email == email))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_words_not_codes_and_lists_that_end(demo_site, page_for, lang):
    site, t = demo_site, TEXT[lang]
    walk = Walk(site, page_for, lang, "s6")
    with site.app.app_context():
        s = db.session
        ent, valuer = _user(s, "enterprise@demo.cq"), _user(s, "valuer@demo.cq")
        owned = s.scalar(select(func.count()).select_from(IpAsset).where(IpAsset.owner_org_id == ent.organisation_id))
        pledged = list(s.scalars(select(IpAsset.title).where(IpAsset.owner_org_id == ent.organisation_id,
                                                             IpAsset.pledge_state != PledgeState.FREE)))
        reports = s.scalar(select(func.count()).select_from(Valuation).where(Valuation.agency_org_id ==
                                                                             valuer.organisation_id))
        report = s.scalar(select(Valuation).where(Valuation.agency_org_id == valuer.organisation_id)
                          .order_by(Valuation.id).limit(1))
        marked = s.scalar(select(IpAsset).where(IpAsset.title.like("%Al₇O₃N₅%")))
        funded = s.scalar(select(Need.title).where(Need.org_id == ent.organisation_id,
                                                   Need.status == NeedStatus.FUNDED).limit(1))
        statuses = {loan.id: loan.status for loan in s.scalars(select(Loan))}
        ent_name, ent_org = ent.name, ent.organisation.name
        signer, agency = report.signer_name, valuer.organisation.name
    assert owned > 2 * PER_PAGE and reports > PER_PAGE and pledged and marked is not None

    # The enterprise: named by name and organisation; My IP in pages of 30, with words for states.
    page = walk.person("enterprise@demo.cq")
    expect(page.locator("header .who")).to_have_text(f"{ent_name} · {ent_org}")
    walk.go(page, "/ip/mine")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(PER_PAGE)
    pager = page.locator("nav.pager")
    expect(pager).to_contain_text(t["page"].format(1, math.ceil(owned / PER_PAGE)))
    table = page.locator("main table").inner_text()
    assert t["granted"] in table and t["not_pledged"] in table
    first = rows.first.inner_text()
    walk.check(page, "my-ip-page-1")
    pager.get_by_role("link", name=t["next"]).click()
    page.wait_for_url(re.compile(r".*/ip/mine\?page=2$"))
    expect(pager).to_contain_text(t["page"].format(2, math.ceil(owned / PER_PAGE)))
    expect(rows).to_have_count(PER_PAGE)
    assert rows.first.inner_text() != first
    walk.check(page, "my-ip-page-2")

    # The need form's picker, in pages: title, kind, number, remaining life, legal status and pledge state in words;
    # nothing pledged, no internal id.
    walk.go(page, "/needs/new")
    picker = page.locator("[data-test=picker-rows] tbody tr")
    expect(picker).to_have_count(20)
    cells = [row.locator("td").all_inner_texts() for row in picker.all()]
    ids = picker.locator("input[type=checkbox]").evaluate_all("boxes => boxes.map(b => b.value)")
    number = re.compile(r"^CN(?:\d{9}[A-Z]\d?|\d{12}\.[\dX])$")
    assert [c for c in cells if c[2] not in t["kinds"] or not number.match(c[3]) or c[5] != t["granted"]
            or c[6] != t["not_pledged"]] == []
    assert not any(f"({i})" in " ".join(c) or f"#{i}" in " ".join(c) for i, c in zip(ids, cells, strict=True))
    assert not set(pledged) & {c[1] for c in cells}
    expect(page.locator("[data-test=asset-picker] nav.pager")).to_be_visible()
    walk.check(page, "need-form-picker")
    walk.go(page, "/needs/mine")
    expect(page.locator("main tr", has_text=funded)).to_contain_text(t["funded"])
    walk.check(page, "my-needs-statuses")

    # The valuer: 349 reports in pages of 30; a report names its signer, not a login.
    page = walk.person("valuer@demo.cq")
    walk.go(page, "/valuations/")
    expect(page.locator("[data-valuation]")).to_have_count(PER_PAGE)
    expect(page.locator("nav.pager")).to_contain_text(t["page"].format(1, math.ceil(reports / PER_PAGE)))
    walk.check(page, "valuations-page-1")
    page.locator("nav.pager").get_by_role("link", name=t["next"]).click()
    page.wait_for_url(re.compile(r".*/valuations/\?page=2$"))
    expect(page.locator("[data-valuation]")).to_have_count(min(PER_PAGE, reports - PER_PAGE))
    walk.go(page, f"/valuations/{report.id}")
    body = page.locator("main").inner_text()
    assert t["signer"] in body and signer in body and agency in body and "@demo.cq" not in body
    walk.check(page, "valuation-report-signer")

    # The bank: a title's chemistry as characters, the data file in words; loan statuses and reasons in words.
    page = walk.person("bank@demo.cq")
    walk.go(page, f"/patents/{marked.id}")
    expect(page.locator("h1")).to_contain_text("Al₇O₃N₅")
    text = page.locator("main").inner_text()
    assert "<sub>" not in text and "&lt;" not in text and "import:" not in text
    assert t["imported"].format(marked.source.split(":", 1)[1]) in text
    walk.check(page, "patent-sub-and-superscripts")
    walk.go(page, "/loans/")
    loans = page.locator("main").inner_text()
    words = {LoanStatus.WRITTEN_OFF: t["written_off"], LoanStatus.REPAID: t["repaid"]}
    for status in {st for st in statuses.values() if st in words}:
        assert words[status] in loans, status
    walk.check(page, "bank-loans-statuses")
    walk.go(page, "/needs/bank")
    reasons = page.locator("main").inner_text()
    assert reasons.count(t["passed"]) >= 3
    walk.check(page, "bank-needs-reasons")
    atom = page.request.get(site.url + "/bulletins/1.atom").text()
    summaries = re.findall(r"<summary>(.*?)</summary>", atom)
    assert summaries and not [x for x in summaries if re.search(r"≤|\d\.\d{4,}|\binvention\b|utility_model", x)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_market_that_has_been_running_for_eighteen_months(demo_site, page_for, lang):
    site, t = demo_site, TEXT[lang]
    walk = Walk(site, page_for, lang, "s7")
    with site.app.app_context():
        s = db.session
        today = utcnow().date()
        first = s.scalar(select(Bulletin).order_by(Bulletin.number).limit(1))
        first_needs = list(s.scalars(select(Need.title).where(Need.id.in_(first.need_ids or [0]))))
        months = sorted({loan.signed_on.strftime("%Y-%m") for loan in s.scalars(select(Loan))})
        defaulted = s.scalar(select(Loan).where(Loan.defaulted_on.is_not(None)))
        lots = list(s.scalars(select(Listing).where(Listing.loan_id == defaulted.id).order_by(Listing.id)))
        claim = s.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == defaulted.id))
        published = list(s.scalars(select(Need.title).where(Need.status == NeedStatus.PUBLISHED)))
    # Spread over the past 18 months, consistent with the rules.
    assert (today - first.period_start).days > 365 and first_needs
    assert len(months) >= 3 and lots and all(lot.status is ListingStatus.SETTLED for lot in lots)
    assert claim.recovery == sum(lot.sale_price for lot in lots) and published

    # A visitor (not logged in): the bulletins, the first of which holds the needs published in its week.
    page = walk.person()
    walk.go(page, "/bulletins/")
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    walk.check(page, "bulletins")
    walk.go(page, f"/bulletins/{first.number}")
    edition = page.locator("main").inner_text()
    assert all(title in edition for title in first_needs)
    walk.check(page, "first-bulletin")

    # The monthly chart: one bar and one row per month a loan was signed.
    walk.go(page, "/stats")
    shown = page.locator("#table-by-month tbody th").all_inner_texts()
    assert shown == months
    expect(page.locator("#by-month + .stats-charts svg").first.locator("g.bar")).to_have_count(len(months))
    walk.check(page, "stats-by-month")

    # The defaulted loan's lots: sold and settled, each tied to the loan, at the prices the claim recovered.
    walk.go(page, "/exchange/results")
    for lot in lots:
        row = page.locator("[data-test=results] tr", has=page.locator(f"a[href='/exchange/{lot.id}']"))
        text = row.inner_text()
        assert t["settled"] in text and t["bidder"] in text and f"¥{lot.sale_price:,.2f}" in text
    walk.check(page, "auction-results")
    walk.go(page, f"/exchange/{lots[0].id}")
    expect(page.locator("main")).to_contain_text(t["loan"].format(defaulted.id))
    walk.check(page, "sold-lot-of-the-loan")
    walk.go(page, "/stats/compensation")
    row = page.locator("tr", has_text=re.compile(rf"^\s*{defaulted.id}\b"))
    expect(row).to_contain_text(f"{claim.compensation:,.2f}")
    walk.check(page, "compensation-paid")

    # The bank: the needs open today; the loan's end, the lots' prices recovered, the claim paid.
    page = walk.person("bank@demo.cq")
    walk.go(page, "/needs/")
    listed = page.locator("main").inner_text()
    assert all(title in listed for title in published), (published, listed)
    walk.check(page, "published-needs")
    walk.go(page, f"/loans/{defaulted.id}")
    expect(page.locator("h1")).to_contain_text(t["written_off"])
    claim_box = page.locator("[data-test=claim]")
    expect(claim_box).to_contain_text(t["paid"])
    expect(claim_box).to_contain_text(f"¥{claim.recovery:,.2f}")
    expect(page.locator("main")).to_contain_text(t["released"])
    walk.check(page, "bank-defaulted-loan")

    # Staff: a fresh demo has no search-index lag; the need-to-loan time is days, not 0.
    page = walk.person("staff@demo.cq")
    walk.go(page, "/staff/")
    tiles = {tile.locator(".label").inner_text(): tile.locator(".num").inner_text()
             for tile in page.locator(".tiles .tile").all()}
    lag = next(v for k, v in tiles.items() if "检索索引" in k or "Search index" in k)
    assert lag == "0", tiles
    need_to_loan = next(v for k, v in tiles.items() if "放款的时间" in k or "need to loan" in k)
    days = int(re.match(r"\d+", need_to_loan).group())
    assert days > 0 and t["days"].format(days) in need_to_loan, need_to_loan
    walk.check(page, "staff-console")
