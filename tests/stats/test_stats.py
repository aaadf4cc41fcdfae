from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D
from itertools import count

import pytest
from sqlalchemy import select

from market.accounts.models import Organisation, OrgKind, OrgStatus, Role
from market.ip.models import IpAsset, IpKind, LegalStatus
from market.loans.claims import approve_claim, assemble_claim
from market.loans.default import declare_default
from market.loans.models import Loan
from market.loans.signing import decline_loan, sign_loan
from market.needs.models import Need, NeedStatus
from market.stats import breadth, figures
from market.stats.chart import bar_chart
from tests.conftest import NOW
from tests.factories import confirmed_loan, make_asset

_n = count(1)


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
        return confirmed_loan(self.s, bank, enterprise, principal=D(principal),
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
    declare_default(s, w.bank_a, w.l1.id, NOW, reason="逾期未还")
    claim = assemble_claim(s, w.l1, D("0"), NOW)
    approve_claim(s, w.staff, claim.id, NOW)
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
    assert figures.fund_balance(s) == D("25000000.00")  # set-up opened the fund with its first contribution


def test_bar_chart_geometry():
    chart = bar_chart([("a", D("10"), "10"), ("b", D("5"), "5"), ("c", 0, "0")])
    assert [b.width for b in chart.bars] == [240, 120, 0]
    assert chart.height > 0 and bar_chart([]).bars == []
    # A value axis under the bars, marked at 0, half and the largest value.
    assert [t.text for t in chart.ticks] == ["0", "5", "10"] and chart.axis_y == 6 + 30 * 3
    assert [t.x for t in chart.ticks] == [chart.label_width, chart.label_width + 120, chart.label_width + 240]
    assert bar_chart([("a", 3, "3")]).ticks[1].text == "1.5"


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
    # Each chart has a value axis and a legend in the page's language.
    assert html.count('data-test="chart-axis"') >= 2 and 'data-test="chart-legend"' in html
    assert "Number of loans by month</figcaption>" in html.replace("\n", "")


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
        loan = confirmed_loan(s, world.bank_b, world.ent3, principal=D("1000000"), annual_rate=D("0.05"),
                              term_months=12, asset_ids=[asset.id],
                              signed_on=date(2016, 5, 1 + days) if days < 31 else date(2016, 6, 1), now=NOW,
                              registration_number="X1")
        loan.offer_id = offer.id  # the statistic reads the need through the loan's offer
        s.flush()
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


# ------------------------------------------------------------------------------------------------ breadth

from collections import defaultdict  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

from market.exchange.models import Listing, ListingSource, ListingStatus  # noqa: E402
from market.loans.models import CompensationClaim, CompensationStatus  # noqa: E402
from market.reference.models import District, Industry, IndustryGroup, IndustryGroupMember  # noqa: E402
from market.stats import tables  # noqa: E402


def _group(pairs):
    out = defaultdict(lambda: [0, D("0")])
    for key, principal in pairs:
        out[key][0] += 1
        out[key][1] += principal
    return {k: (n, p) for k, (n, p) in out.items()}


def _as_dict(rows):
    return {r.key: (r.loans, r.principal) for r in rows}


def test_loans_by_district_industry_group_and_kind_recomputed_from_rows(world):
    s = world.s
    all_loans = s.scalars(select(Loan)).all()
    districts = {d.code: d.name for d in s.scalars(select(District))}
    assert _as_dict(breadth.loans_by_district(s)) == _group(
        (districts.get(ln.enterprise.district_code, ln.enterprise.district_code) if ln.enterprise.district_code
         else "—", ln.principal) for ln in all_loans)
    divisions = {i.code: i.name for i in s.scalars(select(Industry).where(Industry.level == 2))}

    def division(code):
        return f"{code[:2]} {divisions.get(code[:2], '')}".strip() if code and code[:2].isdigit() else "—"

    assert _as_dict(breadth.loans_by_industry_division(s)) == _group(
        (division(ln.enterprise.industry_code), ln.principal) for ln in all_loans)
    members = defaultdict(set)
    for m in s.scalars(select(IndustryGroupMember)):
        members[m.industry_code].add(m.group_code)
    names = {g.code: g.name_zh for g in s.scalars(select(IndustryGroup))}
    pairs = []
    for ln in all_loans:
        code = ln.enterprise.industry_code or ""
        groups = {g for n in range(1, len(code) + 1) for g in members.get(code[:n], ())}
        pairs += [(names[g], ln.principal) for g in groups] or [("—", ln.principal)]
    assert _as_dict(breadth.loans_by_industry_group(s)) == _group(pairs)
    kinds = _group(((min(ln.pledges, key=lambda p: p.id).asset.kind.value if ln.pledges else "—"), ln.principal)
                   for ln in all_loans)
    assert _as_dict(breadth.loans_by_ip_kind(s)) == kinds
    # every loan counted once by district, division and kind
    for rows in (breadth.loans_by_district(s), breadth.loans_by_industry_division(s), breadth.loans_by_ip_kind(s)):
        assert sum(r.loans for r in rows) == len(all_loans)
        assert sum((r.principal for r in rows), D(0)) == sum((ln.principal for ln in all_loans), D(0))


def test_world_loans_fall_in_their_district_and_kind(before, world):
    s = world.s
    district = s.get(District, "500112").name
    assert _as_dict(breadth.loans_by_district(s))[district][0] >= 3
    assert _as_dict(breadth.loans_by_ip_kind(s))["invention"][0] >= 3


def _settle_lot(s, loan, price, valuation=D("3000000")):
    asset_id = loan.pledges[0].asset_id
    listing = Listing(asset_id=asset_id, source=ListingSource.DEFAULT, loan_id=loan.id, title="处置",
                      valuation=valuation,
                      starting_price=valuation * D("0.7"), increment=D("10000"), deposit_amount=D("100000"),
                      notice_starts_at=NOW, bidding_starts_at=NOW, scheduled_ends_at=NOW, ends_at=NOW,
                      status=ListingStatus.SETTLED, sale_price=price, closed_at=NOW, paid_at=NOW,
                      rules_version="test", seller_org_id=loan.bank_org_id, created_at=NOW, updated_at=NOW)
    s.add(listing)
    s.flush()
    return listing


def test_recovery_rate_recomputed_from_loans_repayments_and_settled_lots(world):
    s = world.s
    _settle_lot(s, world.l1, D("1000000.00"))
    _settle_lot(s, world.l1, D("500000.05"))
    rows = {r.loan_id: r for r in figures.recoveries(s)}
    r = rows[world.l1.id]
    assert r.outstanding == D("4000000.10") and r.proceeds == D("1500000.05") and r.lots_settled == 2
    assert r.source == "exchange"
    assert r.rate == (D("1500000.05") / D("4000000.10")).quantize(D("0.0001"))
    # recompute over every defaulted loan from the rows
    defaulted = [ln for ln in s.scalars(select(Loan)) if ln.defaulted_on or ln.status.value in
                 ("defaulted", "in_disposal", "written_off")]
    lots = s.scalars(select(Listing).where(Listing.status == ListingStatus.SETTLED)).all()
    claims = {c.loan_id: c.recovery for c in s.scalars(select(CompensationClaim))}
    proceeds = {ln.id: sum((lt.sale_price for lt in lots if lt.loan_id == ln.id), D(0)) for ln in defaulted}
    for ln in defaulted:  # no settled lot yet: the recovery recorded on the claim
        if not any(lt.loan_id == ln.id for lt in lots) and ln.id in claims:
            proceeds[ln.id] = claims[ln.id]
    done = [ln for ln in defaulted if any(lt.loan_id == ln.id for lt in lots) or ln.id in claims]
    outstanding = {ln.id: ln.principal - sum((p.principal for p in ln.repayments
                                             if not ln.defaulted_on or p.paid_on <= ln.defaulted_on), D(0))
                   for ln in defaulted}
    expected = (sum((proceeds[ln.id] for ln in done), D(0)) / sum((outstanding[ln.id] for ln in done), D(0)))
    assert figures.recovery_rate(s) == expected.quantize(D("0.0001"))
    h = figures.headline(s)
    assert h["recovery_rate"] == figures.recovery_rate(s) and h["recovered"] >= D("1500000.05")


def test_recovery_from_the_claim_before_any_lot_is_settled(world):
    r = next(r for r in figures.recoveries(world.s) if r.loan_id == world.l1.id)
    assert r.source == "claim" and r.lots_settled == 0 and r.proceeds == D("0.00") and r.rate == D("0")


def test_recovery_rate_none_without_a_settled_lot(make_app):
    from market.db import db

    with make_app().app_context():
        assert figures.recovery_rate(db.session) is None and figures.recoveries(db.session) == []
        assert breadth.loans_by_district(db.session) == [] and figures.valuer_accuracy(db.session) == []


def test_compensation_by_loan_recomputed_and_masked(world, client):
    s = world.s
    paid = s.scalars(select(CompensationClaim).where(CompensationClaim.status == CompensationStatus.PAID)).all()
    rows = figures.compensation_by_loan(s)
    assert {(r.loan_id, r.compensation) for r in rows} == {(c.loan_id, c.compensation) for c in paid}
    assert sum((r.compensation for r in rows), D(0)) == figures.compensation_paid(s)
    mine = next(r for r in rows if r.loan_id == world.l1.id)
    assert mine.compensation == D("1200000.03") and mine.outstanding == D("4000000.10")
    s.commit()
    html = client.get("/stats/compensation").get_data(as_text=True)
    assert "¥1,200,000.03" in html  # exact amount
    assert world.ent1.name not in html and figures.mask_name(world.ent1.name) in html
    assert "<script>" not in html and 'style="' not in html


@pytest.mark.parametrize("name, masked", [
    ("重庆星辰科技有限公司", "重庆**科技有限公司"),
    ("重庆长安汽车股份有限公司", "重庆**汽车股份有限公司"),
    ("重庆某某有限公司", "重庆**有限公司"),
    ("测试机构12", "测试**"),
    ("甲乙", "**"),
])
def test_mask_name(name, masked):
    assert figures.mask_name(name) == masked
    assert figures.mask_name(name) != name


def test_valuer_accuracy_fallback_recomputed_from_sold_lots(world, monkeypatch):
    s = world.s
    _settle_lot(s, world.l1, D("2400000"), valuation=D("3000000"))
    _settle_lot(s, world.l2, D("2000000"), valuation=D("1500000"))
    monkeypatch.setattr(figures, "valuer_accuracy_source", lambda: "listings")
    rows = {r.agency: r for r in figures.valuer_accuracy(s)}
    lots = s.scalars(select(Listing).where(Listing.status.in_((ListingStatus.SOLD, ListingStatus.SETTLED)),
                                           Listing.seller_org_id == world.bank_a.organisation_id)).all()
    errors = [abs(lt.valuation - lt.sale_price) / lt.sale_price for lt in lots]
    row = rows["重庆统计银行甲"]
    assert row.n == len(errors) == 2
    assert row.mean_abs_error == (sum(errors, D(0)) / len(errors)).quantize(D("0.0001")) == D("0.2500")


def test_valuer_accuracy_uses_the_valuations_area_when_present(world):
    if figures.valuer_accuracy_source() != "valuations":
        pytest.skip("market.valuations.service.valuer_accuracy is not there")
    from market.valuations.service import valuer_accuracy

    ours = [(r.agency, r.valuer, r.n, r.mean_abs_error) for r in figures.valuer_accuracy(world.s)]
    assert ours == [(r.agency, r.valuer, r.n, r.mean_abs_error) for r in valuer_accuracy(world.s)]


def test_need_to_loan_mean(world):
    days = figures.need_to_loan_days(world.s)
    mean = figures.mean_need_to_loan_days(world.s)
    assert mean is None if not days else mean == (D(sum(days)) / len(days)).quantize(D("0.1"))


def test_every_table_matches_its_figures(app, world):
    s = world.s
    with app.test_request_context():
        t = tables.all_tables(s, tables.TABLE_NAMES)
    assert set(t) == set(tables.TABLE_NAMES)
    assert [[r.key, r.loans, r.principal] for r in breadth.loans_by_district(s)] == t["by-district"].rows
    assert sum(row[2] for row in t["by-kind"].rows) == figures.loan_principal(s)
    assert len(t["recoveries"].rows) == figures.defaulted_loans(s)
    assert sum(row[7] for row in t["compensation"].rows) == figures.compensation_paid(s)
    assert all(t[name].staff for name in tables.STAFF_TABLES)
    assert not any(t[name].staff for name in tables.PUBLIC_TABLES)


@pytest.mark.parametrize("name", ["headline", "by-month", "by-bank", "by-district", "by-industry", "by-group",
                                  "by-kind", "outcomes", "compensation"])
def test_excel_exports_open_with_exact_numbers(client, world, name):
    from io import BytesIO

    from openpyxl import load_workbook

    world.s.commit()
    response = client.get(f"/stats/{name}.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(BytesIO(response.get_data())).active
    rows = list(ws.iter_rows(values_only=True))
    csv_rows = list(csv.reader(io.StringIO(client.get(f"/stats/{name}.csv").get_data().decode("utf-8-sig"))))
    assert len(rows) == len(csv_rows) and list(rows[0]) == csv_rows[0]


def test_excel_by_bank_has_exact_amounts(client, world):
    from io import BytesIO

    from openpyxl import load_workbook

    world.s.commit()
    ws = load_workbook(BytesIO(client.get("/stats/by-bank.xlsx").get_data())).active
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "重庆统计银行甲")
    assert row[1] == 2 and D(str(row[2])) == D("5500000.10")


def test_staff_tables_are_for_staff_only(client, world, login_as):
    world.s.commit()
    for path in ("/stats/recoveries.csv", "/stats/valuers.xlsx", "/stats/compensation-named.csv"):
        assert client.get(path).status_code == 404
    assert client.get("/stats/staff").status_code == 302
    login_as(Role.BANK)
    assert client.get("/stats/staff").status_code == 403
    assert client.get("/stats/recoveries.csv").status_code == 403


def test_staff_page_and_named_exports(client, world, login_as):
    world.s.commit()
    login_as(Role.STAFF)
    html = client.get("/stats/staff").get_data(as_text=True)
    assert "违约贷款及其回收" in html and "评估准确度" in html and world.ent1.name in html
    text = client.get("/stats/compensation-named.csv").get_data().decode("utf-8-sig")
    assert world.ent1.name in text and "1200000.03" in text
    assert client.get("/stats/recoveries.xlsx").status_code == 200


def test_dashboard_shows_every_section_in_both_languages(client, world):
    world.s.commit()
    html = client.get("/stats").get_data(as_text=True)
    for text in ("按区县的贷款", "按行业的贷款", "按重庆产业集群的贷款", "按知识产权类型的贷款", "回收率",
                 "从融资需求到放款的中位天数", "已发布的融资需求简报", "已完成的处置及成交价", "逐笔贷款的风险补偿"):
        assert text in html, text
    assert html.count("<svg") >= 12 and ".xlsx" in html
    assert 'href="/exchange/results"' in html or "/results" in html
    _set_language(client, "en")
    html = client.get("/stats").get_data(as_text=True)
    for text in ("Loans by district", "Loans by IP kind", "Recovery rate", "Invention patent",
                 "Compensation paid per loan"):
        assert text in html, text


_unused = (datetime, timedelta)


def test_stats_api_headline_and_tables(client, world):
    world.s.commit()
    h = client.get("/api/v1/stats")
    assert h.status_code == 200
    body = h.get_json()
    assert body["loans"] == figures.loan_count(world.s) and D(body["principal"]) == figures.loan_principal(world.s)
    assert client.get("/api/v1/stats/tables").get_json()["public"][0] == "headline"
    t = client.get("/api/v1/stats/tables/by-bank").get_json()
    row = next(r for r in t["rows"] if r[0] == "重庆统计银行甲")
    assert row == ["重庆统计银行甲", 2, "5500000.10"] and t["kinds"][0] == ["text", "int", "money"]
    assert client.get("/api/v1/stats/tables/recoveries").status_code == 404
    assert client.get("/api/v1/stats/staff-tables/recoveries").status_code == 401


def test_stats_api_staff_tables_need_staff(client, world, factory):
    from market.api.auth import issue_token

    world.s.commit()
    _t, bank_secret = issue_token(world.s, factory.user(Role.BANK), "b", "read", NOW)
    _t, staff_secret = issue_token(world.s, factory.user(Role.STAFF), "s", "read", NOW)
    world.s.commit()
    url = "/api/v1/stats/staff-tables/compensation-named"
    assert client.get(url, headers={"Authorization": f"Bearer {bank_secret}"}).status_code == 403
    body = client.get(url, headers={"Authorization": f"Bearer {staff_secret}"}).get_json()
    assert any(world.ent1.name in row for row in body["rows"])


def test_loans_that_never_took_effect_count_nowhere(world):
    """A loan the enterprise has not confirmed (pending) or refused (declined) lent nothing: no figure, table or chart
    counts it. (It did before: a bank could inflate the market's lending by recording loans nobody confirmed.)"""
    s = world.s
    tables = (figures.loans_by_month, figures.loans_by_bank, breadth.loans_by_district,
              breadth.loans_by_industry_division, breadth.loans_by_industry_group, breadth.loans_by_ip_kind,
              figures.need_to_loan_days)
    assets = [make_asset(s, world.ent3) for _ in range(2)]
    before = figures.headline(s), [fn(s) for fn in tables]
    for asset in assets:
        loan = sign_loan(s, world.bank_b, enterprise_org_id=world.ent3.id, principal=D("9000000"),
                         annual_rate=D("0.0500"), term_months=12, asset_ids=[asset.id],
                         signed_on=date(2016, 5, 2), now=NOW, registration_number="X2016500000998")
    decline_loan(s, world.bank_b, loan.id, NOW)  # the bank withdraws the second; the first stays pending
    s.flush()
    assert {ln.status.value for ln in s.scalars(select(Loan).where(Loan.enterprise_org_id == world.ent3.id))} == {
        "pending", "declined"}
    assert (figures.headline(s), [fn(s) for fn in tables]) == before
