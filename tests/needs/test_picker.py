"""The need form's patent picker (#16 §6): searched by title or number and paged on the server, without JavaScript;
turning a page keeps what the user typed and what they ticked on other pages; rows show the kind, number, remaining
life, legal status and pledge state in words, never an internal id."""

from __future__ import annotations

import re
from datetime import date
from itertools import count

from sqlalchemy import select

from market.accounts.models import Role
from market.ip.models import PledgeState
from market.needs.models import Need
from tests.factories import make_asset

_serial = count(1)
FORM = {"title": "分页选择的融资需求", "amount": "2000000", "term_months": "12", "max_rate_pct": "5.50",
        "purpose": "购置检测设备"}


def _assets(session, org_id, n, stem="一种选择器测试专利"):
    return [make_asset(session, org_id, title=f"{stem}{next(_serial):03d}", filing_date=date(2018, 3, 1))
            for _ in range(n)]


def _rows(html: str) -> list[str]:
    body = html.split('data-test="picker-rows"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<label for=\"asset-\d+\">([^<]+)</label>", body)


def _chosen(html: str) -> str:
    return html.split('data-test="picker-chosen"', 1)[1].split("</div>", 1)[0]


def test_the_picker_comes_in_pages_with_the_facts_in_words(client, session, login_as):
    owner = login_as(Role.ENTERPRISE)
    assets = _assets(session, owner.organisation_id, 45)
    pledged = make_asset(session, owner.organisation_id, title="一种已质押的选择器专利",
                         pledge_state=PledgeState.PLEDGED)
    session.commit()
    first = client.get("/needs/new").get_data(as_text=True)
    assert len(_rows(first)) == 20 and "第 1 页，共 3 页" in first and "45 项" in first
    assert pledged.title not in first
    row = first.split('data-test="picker-rows"', 1)[1].split("</tr>", 2)[1]
    assert "发明专利" in row and "CN" in row and "年" in row and "有效" in row and "未质押" in row
    assert not re.search(rf"#{assets[0].id}\b|\({assets[0].id}\)", first)
    last = client.get("/needs/new?page=3").get_data(as_text=True)
    assert _rows(last) == [a.title for a in assets[40:]]


def test_turning_a_page_keeps_what_was_typed_and_ticked_then_saves_both(client, session, login_as):
    owner = login_as(Role.ENTERPRISE)
    assets = _assets(session, owner.organisation_id, 25)
    session.commit()
    page2 = client.post("/needs/new?page=2", data={**FORM, "asset_ids": [str(assets[0].id)], "picker": "page"})
    html = page2.get_data(as_text=True)
    assert page2.status_code == 200 and session.scalar(select(Need.id)) is None  # shown again, not saved
    assert 'value="分页选择的融资需求"' in html and "购置检测设备" in html and 'value="5.50"' in html
    assert assets[0].title in _chosen(html) and _rows(html) == [a.title for a in assets[20:]]
    response = client.post("/needs/new?page=2", data={**FORM, "asset_ids": [str(assets[0].id), str(assets[24].id)]})
    assert response.status_code == 302
    need = session.scalar(select(Need).where(Need.title == FORM["title"]))
    assert sorted(need.asset_ids) == sorted([assets[0].id, assets[24].id])


def test_search_by_title_or_number_as_people_write_it(client, session, login_as):
    owner = login_as(Role.ENTERPRISE)
    _assets(session, owner.organisation_id, 30)
    wanted = make_asset(session, owner.organisation_id, title="一种钠离子电池负极", application_number="2017101064521",
                        filing_date=date(2017, 1, 5))
    session.commit()
    by_title = client.post("/needs/new", data={**FORM, "picker_q": "钠离子", "picker": "search"})
    assert _rows(by_title.get_data(as_text=True)) == [wanted.title]
    by_number = client.post("/needs/new", data={**FORM, "picker_q": "CN201710106452.1", "picker": "search"})
    assert _rows(by_number.get_data(as_text=True)) == [wanted.title]
    nothing = client.post("/needs/new", data={**FORM, "picker_q": "无此%_", "picker": "search"}).get_data(as_text=True)
    assert 'data-test="picker-rows"' not in nothing and "无此%_" in nothing


def test_the_picker_never_names_another_organisations_asset(client, session, login_as, factory):
    login_as(Role.ENTERPRISE)
    other = factory.org("enterprise")
    theirs = make_asset(session, other.id, title="一种别家企业的专利")
    session.commit()
    html = client.post("/needs/new", data={**FORM, "asset_ids": [str(theirs.id)], "picker": "search"})
    assert "一种别家企业的专利" not in html.get_data(as_text=True)


def test_the_edit_form_lists_the_assets_the_need_offers_as_chosen(client, session, login_as):
    owner = login_as(Role.ENTERPRISE)
    assets = _assets(session, owner.organisation_id, 22)
    session.commit()
    client.post("/needs/new", data={**FORM, "asset_ids": [str(assets[21].id)]})
    need = session.scalar(select(Need).where(Need.title == FORM["title"]))
    html = client.get(f"/needs/{need.id}/edit").get_data(as_text=True)
    assert assets[21].title in _chosen(html) and "✓" in client.get(f"/needs/{need.id}/edit?page=2").get_data(
        as_text=True)
