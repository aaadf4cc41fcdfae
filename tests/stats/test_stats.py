from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D
from itertools import count

import pytest
from sqlalchemy import select

from market.accounts.models import Organisation, OrgKind, OrgStatus, Role
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from market.loans import service as loans
from market.loans.models import Loan
from market.needs.models import Need, NeedStatus
from market.stats import figures
from market.stats.chart import bar_chart
from tests.conftest import NOW

_n = count(1)


def make_asset(session, owner, kind=IpKind.INVENTION, status=LegalStatus.GRANTED) -> IpAsset:
    n = next(_n)
    asset = IpAsset(kind=kind, application_number=f"2099{n:08d}S", title=f"统计测试专利{n}", owner_org_id=owner.id,
                    legal_status=status, pledge_state=PledgeState.FREE, created_at=NOW, updated_at=NOW)
    session.add(asset)
    session.flush()
    return asset


def make_need(session, org, status) -> Need:
    need = Need(org_id=org.id, title="流动资金", amount=D("3000000"), term_months=12, purpose="研发",
                max_rate=D("0.06"),
                status=status, created_at=NOW, updated_at=NOW)
    session.add(need)
    session.flush()
    return need


class World:
    def __init__(self, session, factory):
        self.s = session
        self.bank_a = factory.user(Role.BANK, org=factory.org(OrgKind.BANK, name="重庆统计银行甲"))
        self.bank_b = factory.user(Role.BANK, org=factory.org(OrgKind.BANK, name="重庆统计银行乙"))
        factory.org(OrgKind.BANK, status=OrgStatus.PENDING)  # not verified: does not count
        self.staff = factory.user(Role.STAFF)
        self.ent1 = factory.org(OrgKind.ENTERPRISE)
        self.ent2 = factory.org(OrgKind.ENTERPRISE)
        self.ent3 = factory.org(OrgKind.ENTERPRISE)

    def loan(self, bank, principal, signed_on, enterprise=None):
        enterprise = enterprise or self.ent1
        asset = make_asset(self.s, enterprise)
        return loans.sign_loan(self.s, bank, enterprise_org_id=enterprise.id, principal=D(principal),
                               annual_rate=D("0.0500"), term_months=12, asset_ids=[asset.id], signed_on=signed_on,
                               now=NOW, registration_number="X2016500000999")


@pytest.fixture
def world(session, factory):
    w = World(session, factory)
    s = session
    # assets: granted patents of each kind, one lapsed, one application, one granted trademark
    for kind in (IpKind.INVENTION, IpKind.UTILITY_MODEL, IpKind.DESIGN):
        make_asset(s, w.ent2, kind)
    make_asset(s, w.ent2, IpKind.INVENTION, LegalStatus.LAPSED)
    make_asset(s, w.ent2, IpKind.UTILITY_MODEL, LegalStatus.APPLICATION)
    make_asset(s, w.ent2, IpKind.TRADEMARK)
    # needs: ent1 twice (published, funded), ent2 submitted, ent3 only a draft
    make_need(s, w.ent1, NeedStatus.PUBLISHED)
    make_need(s, w.ent1, NeedStatus.FUNDED)
    make_need(s, w.ent2, NeedStatus.SUBMITTED)
    make_need(s, w.ent3, NeedStatus.DRAFT)
    # loans: bank A two (March, April), bank B one (March)
    w.l1 = w.loan(w.bank_a, "4000000.10", date(2016, 3, 1))
    w.l2 = w.loan(w.bank_a, "1500000", date(2016, 4, 15))
    w.l3 = w.loan(w.bank_b, "2000000", date(2016, 3, 20), enterprise=w.ent2)
    loans.declare_default(s, w.bank_a, w.l1.id, NOW)
    claim = loans.assemble_claim(s, w.l1, D("0"), NOW)
    loans.approve_claim(s, w.staff, claim.id, NOW)
    s.flush()
    return w


def test_headline_figures_match_independent_counts(world):
    s = world.s
    orgs = s.scalars(select(Organisation)).all()
    assert figures.verified_banks(s) == sum(o.kind is OrgKind.BANK and o.status is OrgStatus.VERIFIED for o in orgs)
    all_loans = s.scalars(select(Loan)).all()
    assert figures.loan_count(s) == len(all_loans) >= 3
    assert figures.banks_with_loans(s) == len({ln.bank_org_id for ln in all_loans})
    assert figures.loan_principal(s) == sum((ln.principal for ln in all_loans), D(0))
    assert isinstance(figures.loan_principal(s), D)
    needs = s.scalars(select(Need)).all()
    assert figures.enterprises_with_needs(s) == len({n.org_id for n in needs if n.status is not NeedStatus.DRAFT})
    assets = s.scalars(select(IpAsset)).all()
    patent = {IpKind.INVENTION, IpKind.UTILITY_MODEL, IpKind.DESIGN}
    assert figures.valid_patents(s) == sum(a.kind in patent and a.legal_status is LegalStatus.GRANTED for a in assets)
    assert figures.valid_invention_patents(s) == sum(
        a.kind is IpKind.INVENTION and a.legal_status is LegalStatus.GRANTED for a in assets)


@pytest.fixture
def before(session):
    """The figures before the world is built (the shared database may hold rows committed by other tests)."""
    return figures.headline(session), {r.key: r for r in figures.loans_by_month(session)}


def test_headline_figures_exact_values_for_this_world(before, world):
    s = world.s
    h0, _ = before
    h = figures.headline(s)
    ratios = ("default_rate", "fund_balance", "recovery_rate", "median_need_to_loan_days")
    delta = {k: h[k] - (h0[k] or 0) for k in h if k not in ratios}
    assert delta["banks_with_loans"] == 2
    assert delta["loans"] == 3
    assert delta["principal"] == D("7500000.10")
    assert delta["enterprises_with_needs"] == 2
    assert delta["valid_patents"] == 3 + 3  # three granted patents + the three pledged inventions
    assert delta["valid_invention_patents"] == 1 + 3
    assert delta["defaulted_loans"] == 1
    assert delta["compensation_paid"] == D("1200000.03")  # 30 % of 4,000,000.10
    assert delta["claims_paid"] == 1
    if h0["loans"] == 0:
        assert h["default_rate"] == D("0.3333")
    if h0["fund_balance"] is None:
        assert h["fund_balance"] == D("25000000.00") - D("1200000.03")


def test_loans_by_month_and_bank(before, world):
    s = world.s
    _, months0 = before
    months = {r.key: r for r in figures.loans_by_month(s)}
    for key, n, total in (("2016-03", 2, D("6000000.10")), ("2016-04", 1, D("1500000.00"))):
        old = months0.get(key)
        assert months[key].loans - (old.loans if old else 0) == n
        assert months[key].principal - (old.principal if old else 0) == total
    assert list(months) == sorted(months)
    banks = [(r.key, r.loans, r.principal) for r in figures.loans_by_bank(s) if r.key.startswith("重庆统计银行")]
    assert banks == [("重庆统计银行甲", 2, D("5500000.10")), ("重庆统计银行乙", 1, D("2000000.00"))]


def test_figures_on_empty_tables(make_app):
    from market.db import db

    with make_app().app_context():
        _check_empty(db.session)


def _check_empty(s):
    assert figures.headline(s)["loans"] == 0 and figures.need_to_loan_days(s) == []
    assert figures.loans_by_month(s) == [] and figures.loans_by_bank(s) == []
    assert figures.loan_principal(s) == D("0.00")
    assert figures.default_rate(s) is None
    assert figures.compensation_paid(s) == D("0.00")
    assert figures.fund_balance(s) is None


def test_bar_chart_geometry():
    chart = bar_chart([("a", D("10"), "10"), ("b", D("5"), "5"), ("c", 0, "0")])
    assert [b.width for b in chart.bars] == [360, 180, 0]
    assert chart.height > 0 and bar_chart([]).bars == []


def _set_language(client, code):
    client.post(f"/language/{code}")


def test_page_renders_in_chinese_without_login(client, world):
    response = client.get("/stats")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "重庆，2016年中（论文）" in html
    assert "按月贷款" in html and "<svg" in html and "重庆统计银行甲" in html
    assert "20.6亿" in html  # the paper's ¥2.06 billion
    assert "<script>" not in html
    assert 'style="' not in html


def test_page_renders_in_english(client, world):
    _set_language(client, "en")
    html = client.get("/stats").get_data(as_text=True)
    assert "Chongqing, mid-2016 (paper)" in html
    assert "Loans by month" in html and "Loans by bank" in html
    assert "2016-03" in html


def test_page_renders_on_an_empty_market(client, session):
    response = client.get("/stats")
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["headline", "by-month", "by-bank", "outcomes"])
def test_csv_exports_parse(client, world, name):
    response = client.get(f"/stats/{name}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)


def test_csv_by_bank_has_exact_amounts(client, world):
    text = client.get("/stats/by-bank.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["重庆统计银行甲", "2", "5500000.10"]


def test_unknown_csv_is_404(client, session):
    assert client.get("/stats/nope.csv").status_code == 404


def test_home_counters_include_stats(client, world):
    html = client.get("/").get_data(as_text=True)
    for key in ("valid_patents", "loans", "enterprises_with_needs"):
        assert f'data-counter="{key}"' in html


def test_time_from_need_to_loan(world, client, login_as):
    from datetime import datetime

    from market.needs.models import Offer

    s = world.s
    days_before = figures.need_to_loan_days(s)
    for days, published in ((10, datetime(2016, 5, 1, 8)), (20, datetime(2016, 5, 1, 8)), (31, None)):
        need = make_need(s, world.ent3, NeedStatus.FUNDED)
        need.published_at = published
        need.created_at = datetime(2016, 5, 1, 9)
        offer = Offer(need_id=need.id, bank_org_id=world.bank_b.organisation_id, amount=D("1000000"),
                      annual_rate=D("0.05"), term_months=12, created_at=NOW)
        s.add(offer)
        s.flush()
        asset = make_asset(s, world.ent3)
        loans.sign_loan(s, world.bank_b, enterprise_org_id=world.ent3.id, principal=D("1000000"),
                        annual_rate=D("0.05"), term_months=12, asset_ids=[asset.id],
                        signed_on=date(2016, 5, 1 + days) if days < 31 else date(2016, 6, 1), now=NOW,
                        registration_number="X1", offer_id=offer.id)
    assert figures.need_to_loan_days(s) == sorted(days_before + [10, 20, 31])
    if not days_before:
        assert figures.median_need_to_loan_days(s) == D(20)
    s.commit()
    login_as(Role.STAFF)
    html = client.get("/staff/").get_data(as_text=True)
    assert "从融资需求到放款的时间" in html and " 笔贷款的中位数" in html


def test_paper_figures_are_shown_with_separators(client, session):
    html = client.get("/stats").get_data(as_text=True)
    assert "40,189" in html and "4,749" in html and "176" in html and "20+" in html
