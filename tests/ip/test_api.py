"""Patent API bodies as the OpenAPI document describes them: dates as ISO 8601 dates, the eligibility block, errors."""

from __future__ import annotations

from datetime import date

import pytest

from market.accounts.models import OrgKind, Role
from market.db import db
from market.ip.indexing import get_backend, reindex
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import NOW, PASSWORD, Factory


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
        db.session.add_all([granted, lapsed])
        bank = f.user(Role.BANK)
        db.session.commit()
        reindex(db.session, get_backend(), NOW)
        db.session.commit()
        ids = {"granted": granted.id, "lapsed": lapsed.id}
        email = bank.email
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).get_json()["token"]
    return client, {"Authorization": f"Bearer {token}"}, ids


def test_search_items_carry_iso_dates_and_facets(patents):
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


def test_one_patent_with_its_eligibility(patents):
    client, headers, ids = patents
    r = client.get(f"/api/v1/patents/{ids['granted']}?term_months=24&margin_months=3", headers=headers)
    assert r.status_code == 200
    one = r.json
    assert one["abstract"] == "电解质摘要" and one["inventors"] == "张三 ; 李四"
    assert one["pledgeable"]["ok"] is True and one["pledgeable"]["reasons"] == []
    assert one["pledgeable"]["term_months"] == 24 and one["pledgeable"]["margin_months"] == 3
    assert one["pledgeable"]["remaining_months"] > 100
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
