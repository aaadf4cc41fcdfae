"""The audit log shows what changed in words, in the reader's language, with the areas' own labels (#16 §6): a loan
declared in default, an asset put up for disposal, a lot announced, an organisation verified. The codes stay only in
the cells' titles (and the log's filters)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from market.accounts.models import OrgKind, Role
from market.exchange import disposal, listings
from market.loans.default import declare_default
from tests.conftest import NOW, login
from tests.factories import CHECKED, confirmed_loan, make_asset
from tests.language import leaks, visible_text

WORDS = {
    "zh-CN": ["贷款", "违约", "已质押", "处置中", "标的", "公告中", "知识产权", "质押状态", "状态"],
    "en": ["Loan", "In default", "Pledged", "In disposal", "Lot", "Announced", "IP asset", "Pledge state", "Status"],
}
CODES = ["in_disposal", "defaulted", "loan.defaulted", "ip_asset.in_disposal", "listing.announced", "ip_asset",
         "pledge_state", "default_basis", "announced"]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_audit_log_reads_in_words(client, session, factory, lang):
    staff = factory.user(Role.STAFF)
    bank = factory.user(Role.BANK)
    enterprise = factory.org(OrgKind.ENTERPRISE)
    asset = make_asset(session, enterprise, filing_date=date(2017, 5, 2), title="一种审计日志测试专利")
    loan = confirmed_loan(session, bank, enterprise, principal=D("4000000"), annual_rate=D("0.0500"), term_months=12,
                          asset_ids=[asset.id], signed_on=date(2016, 3, 1), now=NOW,
                          registration_number="X2016500000998")
    declare_default(session, bank, loan.id, NOW, reason="逾期未还")
    [listing] = disposal.list_loan_for_disposal(session, staff, loan.id, NOW, valuations={asset.id: D("3000000")})
    listings.review_listing(session, staff, listing, CHECKED, True, NOW)
    session.commit()
    login(client, staff)
    client.post(f"/language/{'en' if lang == 'en' else 'zh_CN'}")
    html = client.get("/staff/audit").get_data(as_text=True)
    text = visible_text(html)
    missing = [w for w in WORDS[lang] if w not in text]
    assert not missing, missing
    shown = set(text.replace("#", " ").split())
    assert not [c for c in CODES if c in shown]
    assert 'title="loan.defaulted"' in html  # the code stays at hand for staff
    if lang == "zh-CN":
        assert not leaks(text, "zh_CN", [staff.email, bank.email, "逾期未还", "X2016500000998", staff.name or "",
                                         bank.name or ""])


def test_generated_notes_read_as_words(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("zh_CN"):
        words = app.jinja_env.get_template("staff/_audit_words.html").make_module()
        closing = str(words.note("claim 1 (paid): recovery 2159710.00, loss 3618067.80, compensation 1085420.34"))
        assert closing == "风险补偿申请 #1 (已支付) · 处置回收 2159710.00；本金损失 3618067.80；补偿金额 1085420.34"
        assert str(words.note("loan 3")) == "贷款 #3" and str(words.note("assets: 2")) == "知识产权: 2"
        assert str(words.note("权属核查未完成")) == "权属核查未完成"


@pytest.mark.parametrize(("lang", "name"), [("zh-CN", "电子信息"), ("en", "Electronics and information")])
def test_a_products_industry_groups_read_as_names(client, session, factory, lang, name):
    """A loan product's target groups are Chongqing's industry groups by name (were their codes, e.g.
    pillar_electronics, in the Chinese page)."""
    from market.audit.service import record

    staff = factory.user(Role.STAFF)
    record(session, actor=staff, action="product.saved", entity_type="loan_product", entity_id=1, now=NOW,
           before={"target_groups": []}, after={"target_groups": ["pillar_electronics"]})
    session.commit()
    login(client, staff)
    client.post(f"/language/{lang.replace('-', '_')}")
    text = visible_text(client.get("/staff/audit?entity_type=loan_product").get_data(as_text=True))
    assert name in text and "pillar_electronics" not in text
