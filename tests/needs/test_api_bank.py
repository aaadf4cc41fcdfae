"""API operations a bank system needs beyond the story in test_api.py: changing and deactivating its loan products,
polling its docking records across needs, arranging meetings, and the public bulletins."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.needs import bulletin, docking, service
from market.needs.models import Claim, ClaimStatus, LoanProduct
from tests.conftest import NOW
from tests.factories import make_asset

PRODUCT = {"name": "科技贷", "min_amount": "1000000", "max_amount": "5000000", "min_term_months": 6,
           "max_term_months": 24, "min_rate": "0.0435", "max_rate": "0.058", "accepted_kinds": ["invention"],
           "max_ltv": {"invention": "0.4"}}


def audits(session, entity_type, entity_id, action=None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query.order_by(AuditEntry.id)))


def product_row(session, product_id) -> LoanProduct:
    session.expire_all()
    return session.get(LoanProduct, product_id)


# --- loan products ---------------------------------------------------------------------------------------------


def test_bank_changes_its_product_and_it_is_audited(client, session, factory, kit, bearer):
    bank = factory.user(Role.BANK)
    product = kit.product(bank)
    body = dict(PRODUCT, name="科技贷（二期）", max_amount="8000000.50", max_rate=0.0615,
                accepted_kinds=["invention", "design"], max_ltv={"design": "0.3"}, requires_guarantee=True)
    r = client.put(f"/api/v1/products/{product.id}", headers=bearer(bank), json=body)
    assert r.status_code == 200, r.json
    out = r.json
    assert out["id"] == product.id and out["name"] == "科技贷（二期）" and out["max_amount"] == "8000000.50"
    assert out["max_rate"] == "0.061500" and out["accepted_kinds"] == ["invention", "design"]
    assert out["max_ltv"] == {"design": "0.3"} and out["requires_guarantee"] is True and out["active"] is True
    row = product_row(session, product.id)
    assert row.max_amount == Decimal("8000000.50") and row.max_rate == Decimal("0.0615")
    entry = audits(session, "loan_product", product.id)[-1]
    assert entry.action == "product.saved" and entry.actor_id == bank.id
    assert entry.before["name"] == "知识产权质押贷" and entry.after["name"] == "科技贷（二期）"


def test_product_change_refused_writes_nothing(client, session, factory, kit, bearer):
    bank, other_bank = factory.user(Role.BANK), factory.user(Role.BANK)
    product = kit.product(bank)
    before = len(audits(session, "loan_product", product.id))
    url = f"/api/v1/products/{product.id}"
    r = client.put(url, headers=bearer(other_bank), json=PRODUCT)
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert r.json["error"]["message"] == "该贷款产品属于其他银行。"  # the zh_CN default of the msgid
    assert client.put(url, headers=bearer(factory.user(Role.ENTERPRISE)), json=PRODUCT).status_code == 403
    assert client.put(url, headers=bearer(bank, "read"), json=PRODUCT).status_code == 403
    r = client.put(url, headers=bearer(bank), json=dict(PRODUCT, min_amount="9000000"))
    assert r.status_code == 422 and r.json["error"]["message"] == "额度区间须为正数，且最低额不高于最高额。"
    r = client.put(url, headers=bearer(bank), json=dict(PRODUCT, accepted_kinds=["spaceship"]))
    assert r.status_code == 422
    r = client.put(url, headers=bearer(bank), json={"name": "缺字段"})
    assert r.status_code == 422 and "error" in r.json
    assert client.put("/api/v1/products/99999999", headers=bearer(bank), json=PRODUCT).status_code == 404
    row = product_row(session, product.id)
    assert row.name == "知识产权质押贷" and row.min_amount == Decimal("500000") and row.accepted_kinds == [
        "invention", "utility_model"]
    assert len(audits(session, "loan_product", product.id)) == before


def test_deactivate_and_activate_a_product(client, session, factory, kit, bearer):
    bank, other_bank = factory.user(Role.BANK), factory.user(Role.BANK)
    product = kit.product(bank)
    kit.published_need()
    b, o = bearer(bank), bearer(other_bank)
    assert product.id in [m["product_id"] for m in client.get("/api/v1/matches", headers=b).json["items"]]

    r = client.post(f"/api/v1/products/{product.id}/deactivate", headers=o)
    assert r.status_code == 403 and product_row(session, product.id).active is True
    r = client.post(f"/api/v1/products/{product.id}/deactivate", headers=bearer(factory.user(Role.ENTERPRISE)))
    assert r.status_code == 403 and product_row(session, product.id).active is True

    r = client.post(f"/api/v1/products/{product.id}/deactivate", headers=b)
    assert r.status_code == 200 and r.json["active"] is False and r.json["id"] == product.id
    assert product_row(session, product.id).active is False
    entry = audits(session, "loan_product", product.id, "product.deactivated")
    assert len(entry) == 1 and entry[0].before["active"] is True and entry[0].after["active"] is False
    # off the market: not listed, not matched, hidden from other banks; the owner still sees it
    assert product.id not in [p["id"] for p in client.get("/api/v1/products", headers=o).json["items"]]
    assert client.get("/api/v1/matches", headers=b).json["items"] == []
    assert client.get(f"/api/v1/products/{product.id}", headers=o).status_code == 404
    assert client.get(f"/api/v1/products/{product.id}", headers=b).json["active"] is False
    mine = client.get("/api/v1/products?mine=true", headers=b).json["items"]
    assert [(p["id"], p["active"]) for p in mine] == [(product.id, False)]
    assert client.get("/api/v1/products?mine=true", headers=o).json["items"] == []
    assert client.get("/api/v1/products?mine=true", headers=bearer(factory.user(Role.STAFF))).status_code == 403

    r = client.post(f"/api/v1/products/{product.id}/deactivate", headers=b)
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    assert len(audits(session, "loan_product", product.id, "product.deactivated")) == 1

    r = client.post(f"/api/v1/products/{product.id}/activate", headers=b)
    assert r.status_code == 200 and r.json["active"] is True
    assert client.post(f"/api/v1/products/{product.id}/activate", headers=b).status_code == 409
    assert len(audits(session, "loan_product", product.id, "product.activated")) == 1
    assert client.post("/api/v1/products/99999999/deactivate", headers=b).status_code == 404


# --- docking records across needs ------------------------------------------------------------------------------


@pytest.fixture
def docked(session, factory, kit):
    """Two needs of one enterprise; bank 1 claims both and offers on the first; bank 2 claims the first."""
    ent = factory.user(Role.ENTERPRISE)
    bank1, bank2 = factory.user(Role.BANK), factory.user(Role.BANK)
    need1, need2 = kit.published_need(enterprise=ent), kit.published_need(enterprise=ent, title="第二个需求")
    c11 = docking.claim_need(session, bank1, need1.id, NOW)
    c12 = docking.claim_need(session, bank1, need2.id, NOW + timedelta(minutes=1))
    c21 = docking.claim_need(session, bank2, need1.id, NOW + timedelta(minutes=2))
    offer = docking.make_offer(session, bank1, need1.id, Decimal("2500000"), Decimal("0.05"), 12,
                               NOW + timedelta(minutes=3))
    return dict(ent=ent, bank1=bank1, bank2=bank2, need1=need1, need2=need2, claims=(c11, c12, c21), offer=offer)


def test_bank_polls_its_claims_and_offers(client, factory, docked, bearer):
    b1 = bearer(docked["bank1"])
    c11, c12, _c21 = docked["claims"]
    r = client.get("/api/v1/docking/claims", headers=b1)
    assert r.status_code == 200
    assert r.json["total"] == 2 and [c["id"] for c in r.json["items"]] == [c12.id, c11.id]
    first = r.json["items"][1]
    assert first["status"] == "offer" and first["need_id"] == docked["need1"].id
    assert first["need_title"] == docked["need1"].title and first["need_status"] == "in_talks"
    assert first["bank_org_id"] == docked["bank1"].organisation_id and first["updated_at"].endswith("+00:00")
    only = client.get("/api/v1/docking/claims?status=interest", headers=b1).json
    assert only["total"] == 1 and only["items"][0]["id"] == c12.id
    by_need = client.get(f"/api/v1/docking/claims?need_id={docked['need2'].id}", headers=b1).json
    assert [c["id"] for c in by_need["items"]] == [c12.id]
    paged = client.get("/api/v1/docking/claims?per_page=1&page=2", headers=b1).json
    assert paged["total"] == 2 and paged["page"] == 2 and [c["id"] for c in paged["items"]] == [c11.id]

    offers = client.get("/api/v1/docking/offers", headers=b1).json
    assert offers["total"] == 1 and offers["items"][0]["id"] == docked["offer"].id
    assert offers["items"][0]["amount"] == "2500000.00" and offers["items"][0]["status"] == "pending"
    assert offers["items"][0]["claim_id"] == c11.id
    assert client.get("/api/v1/docking/offers", headers=bearer(docked["bank2"])).json["total"] == 0
    assert client.get("/api/v1/docking/offers?status=accepted", headers=b1).json["items"] == []


def test_enterprise_sees_the_offers_it_received_and_others_see_nothing(client, factory, docked, bearer):
    e = bearer(docked["ent"])
    offers = client.get("/api/v1/docking/offers", headers=e).json
    assert [o["id"] for o in offers["items"]] == [docked["offer"].id]
    assert client.get("/api/v1/docking/claims", headers=e).json["total"] == 3
    stranger = bearer(factory.user(Role.ENTERPRISE))
    assert client.get("/api/v1/docking/offers", headers=stranger).json == {"total": 0, "page": 1, "per_page": 50,
                                                                           "items": []}
    assert client.get("/api/v1/docking/claims", headers=bearer(factory.user(Role.STAFF))).json["total"] >= 3
    r = client.get("/api/v1/docking/claims", headers=bearer(factory.user(Role.VALUER)))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/docking/claims").status_code == 401
    r = client.get("/api/v1/docking/offers?status=maybe", headers=e)
    assert r.status_code == 422 and "error" in r.json
    assert client.get("/api/v1/docking/claims?per_page=0", headers=e).status_code == 422


# --- meetings --------------------------------------------------------------------------------------------------


def claim_row(session, claim_id) -> Claim:
    session.expire_all()
    return session.get(Claim, claim_id)


def test_bank_arranges_and_moves_a_meeting(client, session, factory, kit, bearer):
    bank = factory.user(Role.BANK)
    need = kit.published_need()
    claim = docking.claim_need(session, bank, need.id, NOW)
    b = bearer(bank)
    r = client.post(f"/api/v1/needs/{need.id}/meeting", headers=b, json={"meeting_at": "2030-01-02T10:00:00+08:00"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "meeting" and r.json["meeting_at"] == "2030-01-02T02:00:00+00:00"
    assert claim_row(session, claim.id).meeting_at == datetime(2030, 1, 2, 2, 0)
    entry = audits(session, "need_claim", claim.id, "claim.meeting")
    assert len(entry) == 1 and entry[0].before["status"] == "interest" and entry[0].after["status"] == "meeting"

    r = client.post(f"/api/v1/needs/{need.id}/meeting", headers=b, json={"meeting_at": "2030-01-03T09:00:00"})
    assert r.status_code == 200 and r.json["meeting_at"] == "2030-01-03T09:00:00+00:00"
    assert len(audits(session, "need_claim", claim.id, "claim.meeting_moved")) == 1
    listed = client.get(f"/api/v1/needs/{need.id}/claims", headers=b).json["items"]
    assert listed[0]["meeting_at"] == "2030-01-03T09:00:00+00:00"


def test_meeting_refusals_write_nothing(client, session, factory, kit, bearer):
    bank, other_bank = factory.user(Role.BANK), factory.user(Role.BANK)
    need = kit.published_need()
    claim = docking.claim_need(session, bank, need.id, NOW)
    url, b = f"/api/v1/needs/{need.id}/meeting", bearer(bank)
    future = {"meeting_at": "2030-01-02T10:00:00Z"}
    count = session.scalar(select(func.count()).select_from(AuditEntry))

    r = client.post(url, headers=b, json={"meeting_at": "2020-01-02T10:00:00Z"})
    assert r.status_code == 422 and r.json["error"]["message"] == "会谈时间必须晚于当前时间。"
    r = client.post(url, headers=b, json={"meeting_at": "next tuesday"})
    assert r.status_code == 422 and "meeting_at" in r.json["error"]["details"]["json"]
    assert client.post(url, headers=b, json={}).status_code == 422
    r = client.post(url, headers=bearer(other_bank), json=future)
    assert r.status_code == 404 and r.json["error"]["message"] == "本行尚未认领该需求。"
    assert client.post(url, headers=bearer(factory.user(Role.ENTERPRISE)), json=future).status_code == 403
    assert client.post("/api/v1/needs/99999999/meeting", headers=b, json=future).status_code == 404
    row = claim_row(session, claim.id)
    assert row.status is ClaimStatus.INTEREST and row.meeting_at is None
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == count

    docking.make_offer(session, bank, need.id, Decimal("1000000"), Decimal("0.05"), 12, NOW)
    session.commit()  # a refused request rolls back its unit of work, and only that
    r = client.post(url, headers=b, json=future)
    assert r.status_code == 409
    row = claim_row(session, claim.id)
    assert row.status is ClaimStatus.OFFER and row.meeting_at is None


# --- bulletins -------------------------------------------------------------------------------------------------


def test_bulletins_are_public_with_the_web_pages_content(client, session, factory, kit):
    need = kit.published_need(title="公报里的需求")
    edition = bulletin.publish_bulletin(session, NOW, until=NOW.date() + timedelta(days=1))
    session.commit()
    r = client.get("/api/v1/bulletins")
    assert r.status_code == 200
    item = next(b for b in r.json["items"] if b["number"] == edition.number)
    assert item["need_count"] == 1 and item["period_end"] == (NOW.date() + timedelta(days=1)).isoformat()
    assert item["url"] == f"/bulletins/{edition.number}" and item["csv_url"].endswith(".csv")

    r = client.get(f"/api/v1/bulletins/{edition.number}")
    assert r.status_code == 200
    [entry] = r.json["entries"]
    assert entry["need_id"] == need.id and entry["title"] == "公报里的需求"
    assert entry["enterprise"] == need.org.name and entry["amount"] == "3000000.00"
    assert Decimal(entry["max_rate"]) == Decimal("0.06") and entry["term_months"] == 12
    assert entry["purpose"] == need.purpose
    assert entry["ip_kinds"] == ["invention"] and entry["published_at"] == NOW.isoformat() + "+00:00"
    page = client.get(item["url"]).get_data(as_text=True)
    assert entry["title"] in page and entry["enterprise"] in page and entry["purpose"] in page

    r = client.get("/api/v1/bulletins/99999999")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_the_web_meeting_form_follows_the_same_rules(client, session, login_as, kit):
    """The page and the API share docking.schedule_meeting: a future time is kept, a past one refused unwritten."""
    bank = login_as(Role.BANK)
    need = kit.published_need()
    claim = docking.claim_need(session, bank, need.id, NOW)
    session.commit()  # the page rolls back a refused request: keep the set-up
    r = client.post(f"/needs/{need.id}/meeting", data={"meeting_at": "2020-01-02T10:00"}, follow_redirects=True)
    assert r.status_code == 200 and "会谈时间必须晚于当前时间。" in r.get_data(as_text=True)
    assert claim_row(session, claim.id).meeting_at is None
    r = client.post(f"/needs/{need.id}/meeting", data={"meeting_at": "2030-01-02T10:00"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/needs/{need.id}")
    row = claim_row(session, claim.id)
    # The form's time is Beijing time, as every time the pages show; it is stored in UTC.
    assert row.status is ClaimStatus.MEETING and row.meeting_at == datetime(2030, 1, 2, 2, 0)
    r = client.post(f"/needs/{need.id}/meeting", data={"meeting_at": ""}, follow_redirects=True)
    assert r.status_code == 200 and claim_row(session, claim.id).meeting_at == datetime(2030, 1, 2, 2, 0)


def test_enterprise_lists_its_needs_and_staff_their_queue(client, session, factory, kit, bearer):
    ent = factory.user(Role.ENTERPRISE)
    published = kit.published_need(enterprise=ent)
    assets = [make_asset(kit.session, ent.organisation)]
    draft = service.create_need(session, ent, kit.data(assets, title="草稿需求"), NOW)
    other = factory.user(Role.ENTERPRISE)
    submitted = service.create_need(session, other, kit.data([make_asset(session, other.organisation)],
                                                             title="待审需求"), NOW, submit=True)
    mine = client.get("/api/v1/needs/mine", headers=bearer(ent))
    assert mine.status_code == 200
    assert [(n["id"], n["status"]) for n in mine.json["items"]] == [(draft.id, "draft"), (published.id, "published")]
    assert mine.json["items"][0]["purpose"] == "购置涂布设备"
    assert [n["id"] for n in client.get("/api/v1/needs/mine", headers=bearer(other)).json["items"]] == [submitted.id]
    assert client.get("/api/v1/needs/mine", headers=bearer(factory.user(Role.BANK))).status_code == 403

    staff = bearer(factory.user(Role.STAFF))
    queue = client.get("/api/v1/needs/review-queue", headers=staff).json
    assert submitted.id in [n["id"] for n in queue["submitted"]] and draft.id not in [n["id"] for n in
                                                                                      queue["submitted"]]
    assert published.id not in [n["id"] for n in queue["escalated"]]
    docking.escalate_needs(session, NOW + timedelta(days=30))
    queue = client.get("/api/v1/needs/review-queue", headers=staff).json
    [escalated] = [n for n in queue["escalated"] if n["id"] == published.id]
    assert escalated["escalated_at"] == (NOW + timedelta(days=30)).isoformat() + "+00:00"
    assert client.get("/api/v1/needs/review-queue", headers=bearer(ent)).status_code == 403


def test_an_accepted_offer_points_to_its_loan(client, session, docked, bearer):
    from market.loans.signing import sign_loan_from_offer

    offer = docked["offer"]
    b1 = bearer(docked["bank1"])
    assert client.get("/api/v1/docking/offers", headers=b1).json["items"][0]["loan_id"] is None
    docking.accept_offer(session, docked["ent"], offer.id, NOW)
    assert client.get("/api/v1/docking/offers", headers=b1).json["items"][0]["loan_id"] is None
    loan = sign_loan_from_offer(session, docked["bank1"], offer.id, signed_on=NOW.date(), now=NOW,
                                registration_number="Y2026500000777")
    [item] = client.get("/api/v1/docking/offers", headers=b1).json["items"]
    assert item["status"] == "accepted" and item["loan_id"] == loan.id
    assert client.get("/api/v1/docking/offers", headers=bearer(docked["ent"])).json["items"][0]["loan_id"] == loan.id
