"""Patent API bodies as the OpenAPI document describes them: dates as ISO 8601 dates, the eligibility block, errors."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from market.accounts.models import OrgKind, Role
from market.db import db
from market.ip import saved
from market.ip.indexing import get_backend, reindex
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState, SavedSearch
from market.valuations.models import ValuationMethod, ValueType
from market.valuations.service import ValuationInput, create_valuation
from tests.conftest import NOW, PASSWORD, Factory
from tests.factories import confirmed_loan


@pytest.fixture
def patents(make_app, tmp_path):
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    with app.app_context():
        f = Factory(db.session)
        owner = f.org(OrgKind.ENTERPRISE)
        granted = IpAsset(kind=IpKind.INVENTION, application_number="201610000001X", publication_number="CN1000001A",
                          title="一种固态电池电解质", abstract="电解质摘要", inventors="张三 ; 李四",
                          applicants="重庆某公司", ipc_codes=["H01M10/0562"], owner_org_id=owner.id,
                          legal_status=LegalStatus.GRANTED, pledge_state=PledgeState.FREE,
                          filing_date=date(2016, 3, 1), grant_date=date(2019, 5, 10), created_at=NOW, updated_at=NOW)
        lapsed = IpAsset(kind=IpKind.UTILITY_MODEL, application_number="201620000002X", title="一种电池托盘",
                         ipc_codes=["H01M50/20"], legal_status=LegalStatus.LAPSED, pledge_state=PledgeState.FREE,
                         created_at=NOW, updated_at=NOW)
        engine = IpAsset(kind=IpKind.INVENTION, application_number="201710000003X", title="一种发动机缸体",
                         ipc_codes=["F02F1/00"], owner_org_id=owner.id, legal_status=LegalStatus.GRANTED,
                         pledge_state=PledgeState.FREE, filing_date=date(2017, 1, 5), created_at=NOW, updated_at=NOW)
        db.session.add_all([granted, lapsed, engine])
        bank = f.user(Role.BANK)
        db.session.flush()
        confirmed_loan(db.session, bank, owner, principal=Decimal("1000000"),
                  annual_rate=Decimal("0.05"), term_months=12, asset_ids=[engine.id], signed_on=date(2026, 6, 1),
                  now=NOW, registration_number="Y2026500000042")
        report = create_valuation(db.session, f.user(Role.VALUER), ValuationInput(
            asset_id=granted.id, value_type=ValueType.MORTGAGE_LENDING, amount=Decimal("2500000.50"),
            valuation_date=date(2026, 10, 1), method=ValuationMethod.INCOME, signer_name="陈评估",
            signer_qualification="CPV-50-0001"), NOW, issue=True)
        other_bank = f.user(Role.BANK)
        enterprise = f.user(Role.ENTERPRISE)
        db.session.commit()
        reindex(db.session, get_backend(), NOW)
        db.session.commit()
        ids = {"granted": granted.id, "lapsed": lapsed.id, "engine": engine.id, "report": report.id,
               "bank_name": bank.organisation.name}
        emails = (bank.email, other_bank.email, enterprise.email)
    client = app.test_client()
    tokens = [client.post("/api/v1/tokens", json={"email": e, "password": PASSWORD}).get_json()["token"]
              for e in emails]
    client.others = [{"Authorization": f"Bearer {t}"} for t in tokens[1:]]
    client.app_under_test = app
    return client, {"Authorization": f"Bearer {tokens[0]}"}, ids


def test_search_items_carry_iso_dates_and_facets(at_now, patents):
    client, headers, ids = patents
    r = client.get("/api/v1/patents?q=电池&per_page=10", headers=headers)
    assert r.status_code == 200
    body = r.json
    assert body["total"] == 2 and body["page"] == 1 and body["per_page"] == 10
    item = next(i for i in body["items"] if i["id"] == ids["granted"])
    assert item["filing_date"] == "2016-03-01" and item["grant_date"] == "2019-05-10"
    assert item["expiry_date"] == "2036-03-01"  # an invention patent runs 20 years from filing
    assert isinstance(item["remaining_years"], float) and 9 < item["remaining_years"] < 10
    assert item["ipc"] == ["H01M10/0562"] and item["applicants"] == "重庆某公司" and item["frozen"] is False
    bare = next(i for i in body["items"] if i["id"] == ids["lapsed"])
    assert bare["filing_date"] is None and bare["expiry_date"] is None and bare["owner"] is None
    assert any(b["value"] == "invention" and b["count"] == 1 for b in body["facets"]["kind"])
    assert all(set(b) == {"value", "count", "label"} for b in body["facets"]["kind"])


def test_one_patent_with_its_eligibility(at_now, patents):
    client, headers, ids = patents
    r = client.get(f"/api/v1/patents/{ids['granted']}?term_months=24&margin_months=3", headers=headers)
    assert r.status_code == 200
    one = r.json
    assert one["abstract"] == "电解质摘要" and one["inventors"] == "张三 ; 李四"
    assert one["pledgeable"]["ok"] is True and one["pledgeable"]["reasons"] == []
    assert one["pledgeable"]["term_months"] == 24 and one["pledgeable"]["margin_months"] == 3
    assert one["pledgeable"]["remaining_months"] > 100
    assert one["pledges"] == []
    [report] = one["valuations"]
    assert report["id"] == ids["report"] and report["amount"] == "2500000.50" and report["value_type"] == \
        "mortgage_lending" and report["valuation_date"] == "2026-10-01" and report["status"] == "issued"
    pledged = client.get(f"/api/v1/patents/{ids['engine']}", headers=headers).json
    assert pledged["pledges"] == [{"registration_number": "Y2026500000042", "registered_on": "2026-06-01",
                                   "bank": ids["bank_name"], "active": True, "released_at": None}]
    assert pledged["pledgeable"]["ok"] is False and pledged["valuations"] == []
    lapsed = client.get(f"/api/v1/patents/{ids['lapsed']}", headers=headers).json
    assert lapsed["pledgeable"]["ok"] is False and lapsed["pledgeable"]["reasons"]
    r = client.get("/api/v1/patents/99999999", headers=headers)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/patents/{ids['granted']}").status_code == 401
    r = client.get(f"/api/v1/patents/{ids['granted']}?term_months=0", headers=headers)
    assert r.status_code == 422 and "error" in r.json


def test_the_document_describes_the_bodies(patents):
    client, _headers, _ids = patents
    doc = client.get("/api/v1/openapi.json").json
    item = doc["components"]["schemas"]["PatentOut"]["properties"]
    assert item["filing_date"]["format"] == "date" and item["filing_date"]["nullable"] is True
    detail = doc["paths"]["/api/v1/patents/{asset_id}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"]["$ref"].endswith("/PatentDetailOut")


def saved_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SavedSearch))


def test_bank_keeps_saved_searches(patents):
    client, headers, ids = patents
    app = client.app_under_test
    r = client.post("/api/v1/saved-searches", headers=headers,
                    json={"name": "电池专利", "query": {"q": "电池", "kind": ["invention", "utility_model"]}})
    assert r.status_code == 201, r.json
    made = r.json
    assert made["name"] == "电池专利" and made["new_count"] == 0
    assert made["query"]["q"] == "电池" and made["query"]["kind"] == ["invention", "utility_model"]
    # one saved earlier (service, so its "last seen" is in the past), then a matching patent arrives
    with app.app_context():
        from market.accounts.models import User

        bank = db.session.scalars(select(User).where(User.role == Role.BANK).order_by(User.id)).first()
        old = saved.save_search(db.session, bank, "旧的", MultiDict({"q": "电池"}), NOW)
        later = NOW + timedelta(minutes=1)
        db.session.add(IpAsset(kind=IpKind.INVENTION, application_number="202610000009X", title="一种电池隔膜",
                               ipc_codes=["H01M50/40"], legal_status=LegalStatus.GRANTED,
                               pledge_state=PledgeState.FREE, created_at=later, updated_at=later))
        db.session.commit()
        reindex(db.session, get_backend(), NOW)
        db.session.commit()
        old_id = old.id
    items = {x["id"]: x for x in client.get("/api/v1/saved-searches", headers=headers).json["items"]}
    assert items[old_id]["new_count"] == 1 and items[made["id"]]["new_count"] == 0
    r = client.post(f"/api/v1/saved-searches/{old_id}/seen", headers=headers)
    assert r.status_code == 200 and r.json["new_count"] == 0 and r.json["last_seen_at"] > items[old_id]["last_seen_at"]
    items = {x["id"]: x for x in client.get("/api/v1/saved-searches", headers=headers).json["items"]}
    assert items[old_id]["new_count"] == 0

    other_bank, enterprise = client.others
    assert client.get("/api/v1/saved-searches", headers=other_bank).json["items"] == []
    assert client.post(f"/api/v1/saved-searches/{old_id}/seen", headers=other_bank).status_code == 404
    assert client.delete(f"/api/v1/saved-searches/{old_id}", headers=other_bank).status_code == 404
    assert client.get("/api/v1/saved-searches", headers=enterprise).status_code == 403
    before = saved_rows(app)
    r = client.delete(f"/api/v1/saved-searches/{old_id}", headers=headers)
    assert r.status_code == 204 and saved_rows(app) == before - 1
    assert client.delete(f"/api/v1/saved-searches/{old_id}", headers=headers).status_code == 404


BAD_SAVED_SEARCHES = [
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "x", "query": {"colour": "red"}}, "query"),
    ({"name": "x", "query": {"q": {"nested": 1}}}, None),
    ({"name": "x", "query": {"sort": "nope"}}, None),
    ({"name": "x", "query": {"per_page": 5}}, "query"),
]


def test_saved_search_bad_input_is_refused_and_nothing_is_saved(patents):
    client, headers, _ids = patents
    before = saved_rows(client.app_under_test)
    for body, where in BAD_SAVED_SEARCHES:
        r = client.post("/api/v1/saved-searches", headers=headers, json=body)
        assert r.status_code == 422 and r.json["error"]["message"], body
        if where:
            assert where in r.json["error"]["details"]["json"], body
    _other, enterprise = client.others
    assert client.post("/api/v1/saved-searches", headers=enterprise, json={"name": "x"}).status_code == 403
    assert saved_rows(client.app_under_test) == before
