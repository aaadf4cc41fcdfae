"""The whole story through the pages, as people would do it; access rules per role."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from market.accounts.models import Role
from market.ip.models import IpKind
from market.needs.models import Claim, Need, NeedStatus, Offer, OfferStatus
from tests.conftest import login
from tests.factories import make_asset


def switch(client, user):
    client.post("/logout")
    login(client, user)


def test_story_post_publish_browse_match_claim_offer_accept(client, session, factory, kit):
    ent = factory.user(Role.ENTERPRISE)
    staff = factory.user(Role.STAFF)
    bank = factory.user(Role.BANK)
    p1 = make_asset(kit.session, ent.organisation, title="一种高镍正极材料的制备方法", ipc=("H01M4/525",))
    p2 = make_asset(kit.session, ent.organisation, kind=IpKind.UTILITY_MODEL, title="一种电池模组散热结构",
                    ipc=("H01M10/613",))

    login(client, ent)
    page = client.get("/needs/new").get_data(as_text=True)
    assert "一种高镍正极材料的制备方法" in page
    response = client.post("/needs/new", data={
        "title": "高镍正极产线技改", "amount": "3000000", "term_months": "12", "max_rate_pct": "6.00",
        "purpose": "购置烧结炉两台", "asset_ids": [str(p1.id), str(p2.id)], "submit_now": "y",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    need = session.scalar(select(Need).where(Need.title == "高镍正极产线技改"))
    assert need.status is NeedStatus.SUBMITTED and sorted(need.asset_ids) == sorted([p1.id, p2.id])

    switch(client, bank)
    assert client.get(f"/needs/{need.id}").status_code == 404
    assert "高镍正极产线技改" not in client.get("/needs/").get_data(as_text=True)

    switch(client, staff)
    assert "高镍正极产线技改" in client.get("/needs/review").get_data(as_text=True)
    response = client.post(f"/needs/{need.id}/review", data={
        "identity": "y", "assets": "y", "terms": "y", "purpose": "y", "decision": "publish"})
    assert response.status_code == 302
    assert need.status is NeedStatus.PUBLISHED

    switch(client, bank)
    page = client.get("/needs/?ip_kind=utility_model&industry=38").get_data(as_text=True)
    assert "高镍正极产线技改" in page
    response = client.post("/needs/products/new", data={
        "name": "科创知识产权贷", "min_amount": "1000000", "max_amount": "5000000", "min_term_months": "6",
        "max_term_months": "24", "min_rate_pct": "4.35", "max_rate_pct": "5.80",
        "accepted_kinds": ["invention", "utility_model"], "target_industries": "38, 39", "ltv_invention": "40",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    page = client.get("/needs/bank").get_data(as_text=True)
    assert "高镍正极产线技改" in page and "100/100" not in page
    assert re.search(r"<strong>\d+</strong>/100", page)
    assert "不在" in page or "within" in page or "范围内" in page  # explained reasons are shown
    response = client.post(f"/needs/{need.id}/claim", data={"note": "可上门对接"})
    assert response.status_code == 302
    assert need.status is NeedStatus.IN_TALKS
    response = client.post(f"/needs/{need.id}/offer", data={
        "amount": "3000000", "annual_rate_pct": "5.20", "term_months": "12"})
    assert response.status_code == 302
    offer = session.scalar(select(Offer).where(Offer.need_id == need.id))
    assert str(offer.annual_rate) == "0.052000" and offer.status is OfferStatus.PENDING

    switch(client, ent)
    page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "5.20%" in page
    page = client.get(f"/needs/offers/{offer.id}/accept").get_data(as_text=True)
    assert 'data-test="offer-terms"' in page and 'data-test="offer-compensation"' in page
    # one click without ticking the agreement accepts nothing
    assert client.post(f"/needs/offers/{offer.id}/accept").status_code == 200
    assert offer.status is OfferStatus.PENDING
    assert client.post(f"/needs/offers/{offer.id}/accept", data={"agree": "y"}).status_code == 302
    assert offer.status is OfferStatus.ACCEPTED and need.status is NeedStatus.IN_TALKS
    claim = session.scalar(select(Claim).where(Claim.need_id == need.id))
    assert claim.status.value == "accepted"


def test_rejected_need_shows_why_and_can_be_fixed(client, session, factory, kit):
    ent = factory.user(Role.ENTERPRISE)
    asset = make_asset(kit.session, ent.organisation)
    from market.needs import service
    from tests.conftest import NOW

    need = service.create_need(session, ent, kit.data([asset]), NOW, submit=True)
    staff = factory.user(Role.STAFF)
    login(client, staff)
    client.post(f"/needs/{need.id}/review", data={"identity": "y", "reason": "缺少质押物评估报告",
                                                  "decision": "reject"})
    assert need.status is NeedStatus.REJECTED
    switch(client, ent)
    assert "缺少质押物评估报告" in client.get("/needs/mine").get_data(as_text=True)
    response = client.post(f"/needs/{need.id}/edit", data={
        "title": need.title, "amount": "2000000", "term_months": "12", "max_rate_pct": "6",
        "purpose": "补充评估报告后重新提交", "asset_ids": [str(asset.id)], "submit_now": "y"})
    assert response.status_code == 302
    assert need.status is NeedStatus.SUBMITTED and str(need.amount) == "2000000.00"


def test_refused_post_shows_message_and_saves_nothing(client, session, factory, kit):
    ent = factory.user(Role.ENTERPRISE)
    mark = make_asset(kit.session, ent.organisation, kind=IpKind.TRADEMARK, title="渝新商标")
    login(client, ent)
    response = client.post("/needs/new", data={
        "title": "商标质押", "amount": "1000000", "term_months": "12", "max_rate_pct": "6",
        "purpose": "流动资金", "asset_ids": [str(mark.id)]}, follow_redirects=True)
    assert response.status_code == 200
    assert "渝新商标" in response.get_data(as_text=True)
    assert session.scalar(select(Need).where(Need.title == "商标质押")) is None


@pytest.mark.parametrize("role,path,status", [
    ("bank", "/needs/new", 403), ("bank", "/needs/mine", 403), ("enterprise", "/needs/bank", 403),
    ("enterprise", "/needs/review", 403), ("bank", "/needs/review", 403), ("staff", "/needs/products", 403),
    ("enterprise", "/needs/", 200), ("bank", "/needs/", 200), ("bank", "/needs/bank", 200),
    ("bank", "/needs/products", 200), ("bank", "/needs/products/new", 200), ("staff", "/needs/review", 200),
    ("enterprise", "/needs/new", 200), ("enterprise", "/needs/mine", 200),
])
def test_role_route_table(client, login_as, role, path, status):
    login_as(role)
    assert client.get(path).status_code == status


def test_other_enterprises_drafts_are_404(client, session, factory, kit):
    from market.needs import service
    from tests.conftest import NOW

    owner = factory.user(Role.ENTERPRISE)
    need = service.create_need(session, owner, kit.data([make_asset(kit.session, owner.organisation)]), NOW)
    login(client, factory.user(Role.ENTERPRISE))
    assert client.get(f"/needs/{need.id}").status_code == 404
    assert client.get(f"/needs/{need.id}/edit").status_code == 404
    assert client.post(f"/needs/{need.id}/withdraw").status_code == 302
    assert need.status is NeedStatus.DRAFT
