"""API parity with the page /ip/new: an enterprise registers an IP asset through the API with the same checks,
owner and audit, and the asset is searchable at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from market.accounts.models import OrgKind, OrgStatus, Role
from market.audit.models import AuditEntry
from market.db import db
from market.ip.models import IpAsset
from tests.conftest import PASSWORD, PG_URL, Factory
from tests.service.helpers import DATABASES

ASSET = {"kind": "invention", "title": "一种锂电池正极材料及其制备方法", "application_number": "CN201710106452.1",
         "ipc_codes": ["H01M", "H01M4/36"], "filing_date": "2017-02-27", "grant_date": "2019-05-01",
         "legal_status": "granted", "abstract": "lithium battery cathode"}


@pytest.fixture(params=DATABASES)
def ipapp(request, make_app):
    return make_app(url=PG_URL if request.param == "postgresql" else None)


def _bearer(client, email) -> dict:
    response = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}", "Accept-Language": "en"}


def test_an_enterprise_registers_an_asset_through_the_api(ipapp):
    with ipapp.app_context():
        factory = Factory(db.session)
        owner = factory.user(Role.ENTERPRISE)
        pending = factory.user(Role.ENTERPRISE, org=factory.org(OrgKind.ENTERPRISE, status=OrgStatus.PENDING))
        bank = factory.user(Role.BANK)
        owner_id, org_id = owner.id, owner.organisation_id
        emails = owner.email, pending.email, bank.email
    client = ipapp.test_client()
    headers = _bearer(client, emails[0])
    created = client.post("/api/v1/assets", json=ASSET, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["application_number"] == "CN201710106452.1" and body["kind"] == "invention"
    assert body["pledge_state"] == "free" and body["ipc"][:1] == ["H01M"]
    # Searchable at once (the request drained the index outbox), like a page registration.
    found = client.get("/api/v1/patents", query_string={"q": "锂电池正极材料"}, headers=headers).get_json()
    assert [item["id"] for item in found["items"]] == [body["id"]]
    twice = client.post("/api/v1/assets", json=ASSET, headers=headers)
    assert twice.status_code == 409 and "already registered" in twice.get_json()["error"]["message"]
    bad_digit = client.post("/api/v1/assets", json={**ASSET, "application_number": "CN201710068722.5"},
                            headers=headers)
    assert bad_digit.status_code == 422
    future = client.post("/api/v1/assets", json={**ASSET, "application_number": None,
                                                 "publication_number": "CN118193476B", "grant_date": "2999-01-01"},
                         headers=headers)
    assert future.status_code == 422
    assert client.post("/api/v1/assets", json={**ASSET, "kind": "castle"}, headers=headers).status_code == 422
    assert client.post("/api/v1/assets", json=ASSET, headers=_bearer(client, emails[1])).status_code == 403
    assert client.post("/api/v1/assets", json=ASSET, headers=_bearer(client, emails[2])).status_code == 403
    with ipapp.app_context():
        assets = db.session.scalars(select(IpAsset)).all()
        assert len(assets) == 1 and assets[0].owner_org_id == org_id and assets[0].source == "owner"
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "ip_asset")).one()
        assert entry.action == "ip.registered" and entry.actor_id == owner_id
