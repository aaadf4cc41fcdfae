"""Lists that end: 我的知识产权 and the valuer's reports come in pages; the need form's patent picker offers only what
a need may pledge, named by title, kind, number and pledge state (never an internal id)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from market.accounts.models import Role
from market.ip.models import PledgeState
from tests.conftest import NOW
from tests.factories import make_asset

_serial = count(1)


def _assets(session, org_id, n, **kw):
    return [make_asset(session, org_id, title=f"一种分页测试专利{next(_serial):03d}", filing_date=date(2016, 3, 1),
                       **kw) for _ in range(n)]


def test_my_ip_assets_come_in_pages(client, session, login_as):
    owner = login_as(Role.ENTERPRISE)
    _assets(session, owner.organisation_id, 65)
    session.commit()
    first = client.get("/ip/mine").get_data(as_text=True)
    assert first.count("一种分页测试专利") == 30 and "第 1 页，共 3 页" in first
    last = client.get("/ip/mine?page=3").get_data(as_text=True)
    assert last.count("一种分页测试专利") == 5
    assert client.get("/ip/mine?page=99").status_code == 200


def test_the_patent_picker_offers_only_free_assets_by_name(client, session, login_as):
    owner = login_as(Role.ENTERPRISE)
    free = _assets(session, owner.organisation_id, 2)
    pledged = _assets(session, owner.organisation_id, 1, pledge_state=PledgeState.PLEDGED)[0]
    pledged.title = "一种已质押的专利"
    session.commit()
    html = client.get("/needs/new").get_data(as_text=True)
    assert free[0].title in html and "一种已质押的专利" not in html
    assert "发明专利" in html and "未质押" in html  # kind and pledge state by label
    assert f"({free[0].id})" not in html


def test_valuer_reports_come_in_pages(client, session, factory, login_as):
    from market.valuations import service
    from market.valuations.models import ValuationMethod, ValueType

    valuer = login_as(Role.VALUER)
    owner = factory.user(Role.ENTERPRISE)
    for asset in _assets(session, owner.organisation_id, 35):
        service.create_valuation(session, valuer, service.ValuationInput(
            asset_id=asset.id, value_type=ValueType.MARKET, amount=Decimal("1000000"),
            valuation_date=NOW.date() - timedelta(days=1), method=ValuationMethod.INCOME, signer_name="王评估",
            signer_qualification="CPV-1", basis="收益法"), NOW, issue=True, notify_owner=False)
    session.commit()
    first = client.get("/valuations/").get_data(as_text=True)
    assert first.count("data-valuation=") == 30
    assert client.get("/valuations/?page=2").get_data(as_text=True).count("data-valuation=") == 5
