"""Issue 8, the first journeys in a real browser, each in Chinese and in English, on SQLite and PostgreSQL.

* enterprise: signs up through the sign-up form; is refused by the patent form until verified; then registers two
  patents (an invention and a utility model) through the patent form and posts a need offering both;
* staff: verify the enterprise and the bank in the staff console, publish the need (the period's bulletin follows);
* bank: signs up, publishes a loan product, searches the patents, finds the need (bulletin, need search, its ranked
  list with reasons), claims it, makes an offer; the enterprise accepts; the bank signs the loan and the need page
  follows it after the loan (贷后维护); the patent shows as pledged and the need leaves the search.

Everything a person does goes through the UI with CSRF on, served by waitress. The only shortcuts are those with no
UI: the staff account (`market users create`, how the exchange makes staff) and the bulletin (`market bulletin
publish`, a scheduled command). The language is driven as a person would: Chinese is the default whatever the
browser's Accept-Language; the English run clicks the language switch (before signing up, so the account keeps
English; staff, made by the command in Chinese, switch after logging in). Screenshots of every step go to
MARKET_ARTIFACTS_DIR/screenshots/journeys/<lang>/<database>/.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from market.accounts.models import Organisation, OrgStatus, User
from market.audit.models import AuditEntry
from market.db import db, utcnow
from market.demo import credit_code
from market.ip.models import IpAsset, PledgeState
from market.ip.numbers import check_character
from market.loans.models import Loan
from market.needs.models import Need, NeedStatus
from market.policy.models import Policy
from market.reference.models import District, Industry, IpcTitle
from tests.conftest import ARTIFACTS, DATABASES, PG_URL, fill_in, screenshot
from tests.serving import serving

pytestmark = pytest.mark.browser

PASSWORD = "Chongqing2026journey"
STAFF_PASSWORD = "Exchange2026staff"
ENT_ORG = "重庆固锂新能源科技有限公司"
BANK_ORG = "重庆科创银行两江支行"
NEED_TITLE = "固态电解质中试线扩产"
ABSTRACT = "以硫化锂与五硫化二磷为原料，经球磨与热处理制得高离子电导率的固态电解质薄膜。"
# Two of the enterprise's patents, registered through the form: (kind, title, 12-digit application number body
# (year, kind digit, serial; the form verifies the check digit), IPC, filing date, grant date, abstract).
PATENTS = [
    ("invention", "一种硫化物固态电解质薄膜的制备方法", "202610345678", "H01M10/0562 H01M10/052", "2021-03-15",
     "2023-06-20", ABSTRACT),
    ("utility_model", "一种固态电池叠片装置", "202620345679", "H01M10/04", "2022-05-10", "2022-11-08", ""),
]
PATENT_TITLE = PATENTS[0][1]

PURPOSE = "购置叠片机与化成设备，扩大固态电解质薄膜中试产能"
PRODUCT = "科创知识产权质押贷"
REGISTRATION = "渝知质登字2026第9001号"
STAFF_ORG = "重庆联合产权交易所知识产权交易分所"
TYPED = [ENT_ORG, BANK_ORG, STAFF_ORG, *(p[1] for p in PATENTS), NEED_TITLE, PURPOSE, ABSTRACT, PRODUCT, REGISTRATION,
         "李明；王芳", "李明", "周静", "王芳", "陈静怡"]

# What a person sees, in the language of the run (the Chinese is the product's translation, typed here by hand).
TEXT = {
    "zh": {
        "html_lang": "zh-CN", "switch_to": "English", "sign_up": "注册", "log_in": "登录", "save": "保存",
        "ent_workspace": "企业工作台", "bank_workspace": "银行工作台", "staff_workspace": "交易所工作台",
        "waiting": "注册申请已收到。", "pending_tile": "待审核机构", "review": "审核",
        "verify": "审核通过", "decision_saved": "审核结果已保存。", "verified": "已审核",
        "must_be_verified": "您的机构须通过认证后才能操作。",
        "my_ip": "我的知识产权", "register_ip": "登记知识产权资产", "ip_registered": "知识产权资产已登记。",
        "invention": "发明专利", "utility_model": "实用新型", "post_need": "发布融资需求",
        "need_saved": "融资需求已保存。",
        "submitted": "待审核", "needs_to_review": "需求审核", "publish": "发布", "need_published": "需求已发布。",
        "products": "本行贷款产品", "publish_product": "发布贷款产品", "product_saved": "贷款产品已保存。",
        "patent_search": "专利检索", "found_one": "共找到 1 件专利", "not_pledged": "未质押", "pledged": "已质押",
        "needs_for_bank": "适合本行的融资需求", "claim": "认领此需求", "claimed": "本行的意向已通知企业。",
        "make_offer": "提出授信方案", "offer_sent": "授信方案已发送。", "accept": "接受", "accepted": "已接受",
        "sign_loan": "签订贷款", "amount_words": "280万", "loan_signed": "贷款已签订，该融资需求已获放款。",
        "post_loan": "贷后维护", "performing": "正常履约",
    },
    "en": {
        "html_lang": "en", "switch_to": "中文", "sign_up": "Sign up", "log_in": "Log in", "save": "Save",
        "ent_workspace": "Enterprise workspace", "bank_workspace": "Bank workspace",
        "staff_workspace": "Exchange staff workspace",
        "waiting": "Sign-up received.",
        "pending_tile": "Organisations awaiting verification", "review": "Review", "verify": "Verify",
        "decision_saved": "Decision saved.", "verified": "Verified",
        "must_be_verified": "Your organisation must be verified before it can act.",
        "my_ip": "My IP assets", "register_ip": "Register an IP asset", "ip_registered": "The IP asset was registered.",
        "invention": "Invention patent", "utility_model": "Utility model", "post_need": "Post a financing need",
        "need_saved": "Your financing need was saved.", "submitted": "Awaiting review",
        "needs_to_review": "Needs to review", "publish": "Publish", "need_published": "The need was published.",
        "products": "Your loan products", "publish_product": "Publish a loan product",
        "product_saved": "The loan product was saved.",
        "patent_search": "Patent search", "found_one": "Patents found: 1", "not_pledged": "Not pledged",
        "pledged": "Pledged", "needs_for_bank": "Needs for your bank", "claim": "Claim this need",
        "claimed": "Your bank's interest was sent to the enterprise.", "make_offer": "Make an offer",
        "offer_sent": "Your offer was sent.", "accept": "Accept", "accepted": "Accepted", "sign_loan": "Sign the loan",
        "amount_words": "2.8M", "loan_signed": "The loan was signed; the financing need is funded.",
        "post_loan": "Followed after the loan", "performing": "Performing",
    },
}


@pytest.fixture(params=DATABASES)
def journey_server(request, make_app, tmp_path):
    """The app served by waitress with CSRF on, on a private SQLite or PostgreSQL database. Yields (app, url, db).

    It gets its own embedded search index too: by default every app made in tests shares instance/search.sqlite3,
    whose documents from other tests and runs (same ids, other data) would be counted in the search totals."""
    extra = {"url": PG_URL} if request.param == "postgresql" else {}
    application = make_app(WTF_CSRF_ENABLED=True, SERVER_NAME=None,
                           SEARCH_EMBEDDED_PATH=str(tmp_path / "journey-search.sqlite3"), **extra)
    with serving(application) as url:
        yield application, url, request.param


def data_texts(app) -> list[str]:
    """Names that are data, not UI, and exist in one language only: Chongqing's districts and the GB/T 4754
    industries (Chinese in the official data sets), policy names (the first is made when first needed), WIPO's
    English IPC titles."""
    with app.app_context():
        session = db.session
        names = [*session.scalars(select(District.name)), *session.scalars(select(Industry.name)),
                 *session.scalars(select(Policy.name)), *session.scalars(select(IpcTitle.title_en))]
    return names


class Journey:
    """Screenshots numbered in the order of the story, one folder per language and database; at each step the
    page's visible text is checked to be in the run's language (besides the data people typed and the names
    from the reference data)."""

    def __init__(self, app, lang: str, database: str):
        self.app, self.lang, self.database, self.step = app, lang, database, 0
        self.t = TEXT[lang]
        if ARTIFACTS:  # numbered steps: no stale pictures of an earlier run in between
            shutil.rmtree(os.path.join(ARTIFACTS, "screenshots", "journeys", lang, database), ignore_errors=True)

    def shot(self, page, name: str) -> None:
        # Blur first: after a full-page screenshot Chromium scrolls a still-focused field back into view on the next
        # mouse-down, so the following click's mouse-up lands elsewhere and e.g. a submit button never submits.
        page.evaluate("document.activeElement && document.activeElement.blur()")
        self.step += 1
        screenshot(page, f"journeys/{self.lang}/{self.database}/{self.step:02d}-{name}")
        self.check_language(page, name)

    def check_language(self, page, step: str) -> None:
        """No Chinese UI text in the English run, no English UI phrase in the Chinese run."""
        text = page.locator("body").inner_text()
        data = sorted({d for d in [*TYPED, *data_texts(self.app)] if d}, key=len, reverse=True)
        if self.lang == "en":
            for d in data:
                text = text.replace(d, " ")
            left = set(re.findall(r"[\u3000-\u9fff\uff00-\uffef]+", text)) - {"中文"}  # the switch back
        else:
            # English phrases (two words or more) and raw lower-case codes such as an enum value ("invention");
            # e-mail addresses and audit action codes ("ip.registered", shown as codes on purpose) are not UI text.
            text = re.sub(r"\S+@\S+|\b[a-z_]+\.[a-z_]+\b", " ", text)
            found = set(re.findall(r"[A-Za-z]{2,}(?:[ ,'-]+[A-Za-z]{2,})+|\b[a-z][a-z_]{2,}\b", text))
            left = {p for p in found if not any(p in d for d in data)}
        assert not left, f"{step} ({page.url}) shows text not in {self.lang}: {sorted(left)}"

    def flash(self, page, key: str) -> None:
        expect(page.locator(".flash.success, .flash.info").first).to_contain_text(self.t[key])


def choose_language(page, journey: Journey) -> None:
    """Chinese is the default; an English run clicks the switch in the page header, as a person would."""
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    if journey.lang == "en":
        switch = page.locator("[data-test=lang-switch]")
        expect(switch).to_have_text("English")
        path = page.url
        switch.click()
        page.wait_for_url(path)
    expect(page.locator("html")).to_have_attribute("lang", journey.t["html_lang"])
    expect(page.locator("[data-test=lang-switch]")).to_have_text(journey.t["switch_to"])


def sign_up(page, url, journey: Journey, *, role, name, email, org, code, district, workspace_key):
    page.goto(url + "/")
    choose_language(page, journey)
    page.get_by_role("link", name=journey.t["sign_up"]).first.click()
    page.wait_for_url(url + "/signup")
    page.select_option("select[name=role]", role)
    fill_in(page, name=name, email=email, password=PASSWORD, confirm=PASSWORD, org_name=org,
            credit_code=credit_code(code))
    page.select_option("select[name=district_code]", district)
    journey.shot(page, f"{role}-signup-form")
    page.get_by_role("button", name=journey.t["sign_up"]).click()
    # Sign-up does not log in (its answer must not tell whether the address was registered): log in next.
    page.wait_for_url(url + "/login")
    journey.flash(page, "waiting")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=journey.t["log_in"]).click()
    page.wait_for_url(url + "/workspace")
    expect(page.locator("[data-test=workspace-title]")).to_have_text(journey.t[workspace_key])
    expect(page.locator("[data-test=verification-banner]")).to_be_visible()
    journey.shot(page, f"{role}-signed-up")


def log_in(page, url, email, password):
    """The log-in page of a new visitor is in Chinese (the default) in both runs."""
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name=TEXT["zh"]["log_in"]).click()
    page.wait_for_url(url + "/workspace")


def open_card(page, title: str) -> None:
    """Follow a workspace card by its heading (in the run's language)."""
    page.locator("a.card.link", has=page.get_by_role("heading", name=title, exact=True)).click()


def fill_patent_form(page, url, journey: Journey, patent) -> None:
    """From the workspace: My IP assets → Register an IP asset → the form, filled in and saved."""
    kind, title, body, ipc, filed, granted, abstract = patent
    page.goto(url + "/workspace")
    open_card(page, journey.t["my_ip"])
    page.get_by_role("link", name=journey.t["register_ip"]).click()
    page.wait_for_url(url + "/ip/new")
    page.select_option("select[name=kind]", kind)
    fill_in(page, title=title, application_number=f"CN{body}.{check_character(body)}", ipc_codes=ipc,
            applicants=ENT_ORG, inventors="李明；王芳", filing_date=filed, grant_date=granted)
    page.select_option("select[name=legal_status]", "granted")
    page.fill("textarea[name=abstract]", abstract)
    journey.shot(page, f"enterprise-{kind}-form")
    page.get_by_role("button", name=journey.t["save"]).click()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_enterprise_staff_bank_from_sign_up_to_loan(journey_server, page_for, lang):
    app, url, database = journey_server
    journey = Journey(app, lang, database)
    t = journey.t
    browser_locale = "zh-CN" if lang == "zh" else "en-US"

    # -- Enterprise: signs up (organisation waiting for verification).
    ent = page_for(locale=browser_locale)
    sign_up(ent, url, journey, role="enterprise", name="李明", email="li.ming@guli.example.cq", org=ENT_ORG,
            code="91500112MA5UJ0001", district="500112", workspace_key="ent_workspace")

    # Not verified yet: the patent form refuses, in the enterprise's language, and nothing is registered.
    fill_patent_form(ent, url, journey, PATENTS[0])
    expect(ent.locator(".flash.error")).to_contain_text(t["must_be_verified"])
    expect(ent).to_have_url(url + "/ip/new")
    journey.shot(ent, "enterprise-unverified-refused")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IpAsset)) == 0

    # -- Bank: signs up too.
    bank = page_for(locale=browser_locale)
    sign_up(bank, url, journey, role="bank", name="周静", email="zhou.jing@kcbank.example.cq", org=BANK_ORG,
            code="91500000MA5UJ0002", district="500112", workspace_key="bank_workspace")

    # -- Staff: the exchange creates its staff accounts with the command (there is no sign-up for staff).
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", "chen@exchange.example.cq", "--password", STAFF_PASSWORD, "--role", "staff",
        "--org", STAFF_ORG, "--name", "陈静怡"])
    assert result.exit_code == 0, result.output
    staff = page_for(locale=browser_locale)
    log_in(staff, url, "chen@exchange.example.cq", STAFF_PASSWORD)
    if lang == "en":
        staff.locator("[data-test=lang-switch]").click()
        staff.wait_for_url(url + "/workspace")
    expect(staff.locator("html")).to_have_attribute("lang", t["html_lang"])
    expect(staff.locator("[data-test=workspace-title]")).to_have_text(t["staff_workspace"])

    # Staff verify both organisations from the console's queue.
    for org_name in (ENT_ORG, BANK_ORG):
        staff.goto(url + "/staff/")
        staff.locator("[data-test=pending-count]").click()
        staff.wait_for_url(re.compile(r".*/staff/organisations"))
        row = staff.locator("table.data tr", has_text=org_name)
        journey.shot(staff, "staff-verification-queue")
        row.get_by_role("link", name=t["review"]).click()
        expect(staff.locator("h1")).to_have_text(org_name)
        staff.get_by_role("button", name=t["verify"], exact=True).click()
        staff.wait_for_url(re.compile(r".*/staff/organisations$"))
        journey.flash(staff, "decision_saved")
        expect(staff.locator("table.data")).not_to_contain_text(org_name)
    staff.goto(url + "/staff/organisations?status=verified")
    expect(staff.locator("table.data")).to_contain_text(ENT_ORG)
    expect(staff.locator("table.data")).to_contain_text(BANK_ORG)
    journey.shot(staff, "staff-verified")

    # -- Enterprise: verified now, registers its two patents through the patent form.
    ent.goto(url + "/workspace")
    expect(ent.locator("[data-test=verification-banner]")).to_have_count(0)
    patent_ids = []
    for patent in PATENTS:
        kind, title = patent[:2]
        fill_patent_form(ent, url, journey, patent)
        ent.wait_for_url(re.compile(r".*/patents/\d+$"))
        journey.flash(ent, "ip_registered")
        expect(ent.locator("h1")).to_contain_text(title)
        expect(ent.locator("main")).to_contain_text(t[kind])
        journey.shot(ent, f"enterprise-{kind}-registered")
        patent_ids.append(int(ent.url.rstrip("/").split("/")[-1]))

    # -- Enterprise: posts a financing need offering the patent, and submits it for review.
    ent.goto(url + "/workspace")
    open_card(ent, t["post_need"])
    ent.wait_for_url(url + "/needs/new")
    fill_in(ent, title=NEED_TITLE, amount="3000000", term_months="12", max_rate_pct="6.00")
    ent.fill("textarea[name=purpose]", PURPOSE)
    for patent_id in patent_ids:
        ent.check(f"input[name=asset_ids][value='{patent_id}']")
    ent.check("input[name=submit_now]")
    journey.shot(ent, "enterprise-need-form")
    ent.get_by_role("button", name=t["save"]).click()
    ent.wait_for_url(re.compile(r".*/needs/\d+$"))
    journey.flash(ent, "need_saved")
    expect(ent.locator("h1")).to_contain_text(NEED_TITLE)
    expect(ent.locator("h1")).to_contain_text(t["submitted"])
    for kind, title, body, *_rest in PATENTS:  # the assets offered, with their numbers as people write them
        row = ent.locator("[data-test=need-assets] tbody tr", has_text=title)
        expect(row).to_contain_text(t[kind])
        expect(row).to_contain_text(f"CN{body}.{check_character(body)}")
    journey.shot(ent, "enterprise-need-submitted")
    need_path = ent.url.replace(url, "")
    need_id = int(need_path.rsplit("/", 1)[-1])

    # -- Staff: review the need against the checklist and publish it.
    staff.goto(url + "/workspace")
    open_card(staff, t["needs_to_review"])
    staff.get_by_role("link", name=NEED_TITLE).click()
    staff.wait_for_url(url + need_path)
    for box in ("identity", "assets", "terms", "purpose"):
        staff.check(f"input[name={box}]")
    journey.shot(staff, "staff-need-review")
    staff.get_by_role("button", name=t["publish"], exact=True).click()
    staff.wait_for_url(re.compile(r".*/needs/review$"))
    journey.flash(staff, "need_published")
    journey.shot(staff, "staff-need-published")
    # The period's bulletin is published by the scheduled command (no UI).
    until = (utcnow().date() + timedelta(days=1)).isoformat()  # the period ends before this day
    result = app.test_cli_runner().invoke(args=["bulletin", "publish", "--until", until])
    assert result.exit_code == 0, result.output
    number = int(re.search(r"Bulletin No\. (\d+)", result.output).group(1))

    # -- Bank: publishes a loan product through the product form.
    bank.goto(url + "/workspace")
    expect(bank.locator("[data-test=verification-banner]")).to_have_count(0)
    open_card(bank, t["products"])
    bank.get_by_role("link", name=t["publish_product"]).click()
    fill_in(bank, name=PRODUCT, min_amount="1000000", max_amount="10000000", min_term_months="6", max_term_months="36",
            min_rate_pct="4.35", max_rate_pct="6.50")
    bank.check("input[name=accepted_kinds][value=invention]")
    bank.fill("input[name=ltv_invention]", "40")
    journey.shot(bank, "bank-product-form")
    bank.get_by_role("button", name=t["save"]).click()
    bank.wait_for_url(re.compile(r".*/needs/products$"))
    journey.flash(bank, "product_saved")

    # -- Bank: searches the indexed patents; the enterprise's patent is there, granted and not pledged.
    bank.goto(url + "/workspace")
    open_card(bank, t["patent_search"])
    bank.fill("[data-test=q]", "电解质")
    bank.locator("[data-test=q]").press("Enter")
    bank.wait_for_url(re.compile(r".*/patents\?.*q="))
    expect(bank.locator("[data-test=total]")).to_contain_text(t["found_one"])
    hit = bank.locator("[data-test=hit]")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text(PATENT_TITLE)
    expect(hit).to_contain_text(t["invention"])
    expect(hit).to_contain_text(t["not_pledged"])
    journey.shot(bank, "bank-patent-search")

    # -- Bank: the need in the bulletin, in the need search and in its ranked list (with reasons); it claims it.
    bank.goto(url + "/bulletins/")
    bank.locator(f"a[href='/bulletins/{number}']").first.click()
    bank.wait_for_url(url + f"/bulletins/{number}")
    expect(bank.locator("main")).to_contain_text(NEED_TITLE)
    journey.shot(bank, "bank-bulletin")
    bank.goto(url + "/needs/?q=电解质")
    expect(bank.locator(f"tr[data-need='{need_id}']")).to_have_count(1)
    journey.shot(bank, "bank-need-search")
    bank.goto(url + "/workspace")
    open_card(bank, t["needs_for_bank"])
    row = bank.locator(f"table.ranked tr[data-need='{need_id}']")
    expect(row).to_contain_text("/100")
    assert row.locator("ul.reasons li.fits").count() >= 1
    # the product takes inventions only, the need offers a utility model too: said in words of the page's language
    expect(row.locator("ul.reasons")).to_contain_text(t["invention"])
    journey.shot(bank, "bank-ranked-needs")
    row.get_by_role("link", name=NEED_TITLE).click()
    bank.wait_for_url(url + need_path)
    bank.get_by_role("button", name=t["claim"]).click()
    bank.wait_for_url(url + need_path)
    journey.flash(bank, "claimed")
    offer_form = bank.locator(f"form[action='/needs/{need_id}/offer']")
    offer_form.locator("input[name=amount]").fill("2800000")
    offer_form.locator("input[name=annual_rate_pct]").fill("5.20")
    offer_form.locator("input[name=term_months]").fill("12")
    journey.shot(bank, "bank-offer-form")
    offer_form.get_by_role("button", name=t["make_offer"]).click()
    bank.wait_for_url(url + need_path)
    journey.flash(bank, "offer_sent")
    journey.shot(bank, "bank-offer-sent")

    # -- Enterprise: accepts the offer.
    ent.goto(url + need_path)
    offers = ent.locator("table.offers")
    expect(offers).to_contain_text(BANK_ORG)
    offers.get_by_role("link", name=t["accept"], exact=True).click()
    ent.locator("[data-test=accept-offer] input[type=checkbox]").check()
    ent.locator("[data-test=accept-offer]").get_by_role("button", name=t["accept"], exact=True).click()
    ent.wait_for_url(url + need_path)
    expect(offers).to_contain_text(t["accepted"])
    journey.shot(ent, "enterprise-offer-accepted")

    # -- Bank: signs the loan from the accepted offer (amount, rate, term and the patent prefilled).
    bank.goto(url + need_path)
    bank.locator("[data-test=sign-loan]").get_by_role("link", name=t["sign_loan"]).click()
    bank.wait_for_url(re.compile(r".*/loans/from-offer/\d+$"))
    expect(bank.locator("[data-test=offer-amount]")).to_contain_text(t["amount_words"])
    expect(bank.locator("[data-test=offer-rate]")).to_contain_text("5.2")
    expect(bank.locator("[data-test=offer-term]")).to_contain_text("12")
    for _kind, title, body, *_rest in PATENTS:
        expect(bank.locator("[data-test=pledge-assets]")).to_contain_text(f"{title} · CN{body}.{check_character(body)}")
    bank.fill("input[name=registration_number]", REGISTRATION)
    journey.shot(bank, "bank-loan-form")
    bank.locator("form.form input[type=submit], form.form button[type=submit]").last.click()
    bank.wait_for_url(re.compile(r".*/loans/\d+$"))
    journey.flash(bank, "loan_signed")
    journey.shot(bank, "bank-loan-signed")

    # -- Both follow the loan on the need page (post-loan maintenance).
    for who, page in (("enterprise", ent), ("bank", bank)):
        page.goto(url + need_path)
        section = page.locator("[data-test=post-loan]")
        expect(section).to_contain_text(t["post_loan"])
        expect(section.locator("[data-test=loan-status]")).to_contain_text(t["performing"])
        journey.shot(page, f"{who}-post-loan")
    # The patent is now pledged in the search, and the funded need has left the need search.
    bank.goto(url + "/patents?q=电解质")
    expect(bank.locator("[data-test=hit]")).to_contain_text(t["pledged"])
    journey.shot(bank, "bank-patent-pledged")
    bank.goto(url + "/needs/?q=电解质")
    expect(bank.locator(f"tr[data-need='{need_id}']")).to_have_count(0)

    # What the browser did is what the database holds, and every state change was audited.
    with app.app_context():
        session = db.session
        users = {u.email: u for u in session.scalars(select(User))}
        assert users["li.ming@guli.example.cq"].locale == ("zh_CN" if lang == "zh" else "en")
        orgs = {o.name: o for o in session.scalars(select(Organisation))}
        assert orgs[ENT_ORG].status is OrgStatus.VERIFIED and orgs[BANK_ORG].status is OrgStatus.VERIFIED
        for patent_id, (kind, title, body, *_rest) in zip(patent_ids, PATENTS, strict=True):
            asset = session.get(IpAsset, patent_id)
            assert (asset.kind.value, asset.title, asset.owner_org_id) == (kind, title, orgs[ENT_ORG].id)
            assert asset.application_number == body + check_character(body)
            assert asset.pledge_state is PledgeState.PLEDGED
        need = session.get(Need, need_id)
        assert need.status is NeedStatus.FUNDED
        loan = session.scalar(select(Loan).where(Loan.offer_id == need.accepted_offer.id))
        assert loan.principal == Decimal("2800000.00") and loan.annual_rate == Decimal("0.052")
        assert loan.bank_org_id == orgs[BANK_ORG].id
        assert sorted(p.asset_id for p in loan.pledges) == sorted(patent_ids)
        actions = set(session.scalars(select(AuditEntry.action)))
        expected = {"user.registered", "organisation.verified", "ip.registered", "need.created", "need.submitted",
                    "need.published", "bulletin.published", "product.saved", "claim.interest", "offer.made",
                    "need.offer_accepted", "loan.signed_from_offer"}
        assert expected <= actions, expected - actions
