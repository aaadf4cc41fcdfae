"""API parity with the pages: `/me` carries the organisation id; banks look organisations up by credit code or name
(verified ones only); staff verify or reject organisations through the API with the page's rule and audit."""

from __future__ import annotations

from sqlalchemy import select

from market.accounts.models import OrgKind, OrgStatus, Role
from market.audit.models import AuditEntry
from tests.conftest import PASSWORD


def _bearer(client, user) -> dict:
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}", "Accept-Language": "en"}


def test_me_has_the_organisation_id(client, factory):
    user = factory.user(Role.BANK)
    body = client.get("/api/v1/me", headers=_bearer(client, user)).get_json()
    assert body["organisation_id"] == user.organisation.id and body["organisation_kind"] == "bank"
    assert body["organisation"] == user.organisation.name and body["organisation_verified"] is True
    person = factory.user(Role.BIDDER, org=None)
    body = client.get("/api/v1/me", headers=_bearer(client, person)).get_json()
    assert body["organisation_id"] is None and body["organisation"] is None


def test_banks_look_organisations_up_by_credit_code_or_name(client, factory):
    bank = factory.user(Role.BANK)
    headers = _bearer(client, bank)
    target = factory.org(OrgKind.ENTERPRISE, name="重庆查找测试科技有限公司")
    pending = factory.org(OrgKind.ENTERPRISE, name="重庆查找测试待审有限公司", status=OrgStatus.PENDING)
    found = client.get("/api/v1/organisations", query_string={"credit_code": target.credit_code.lower()},
                       headers=headers)
    assert found.status_code == 200
    assert [o["id"] for o in found.get_json()["items"]] == [target.id]
    by_name = client.get("/api/v1/organisations", query_string={"name": "查找测试"}, headers=headers).get_json()
    assert [o["id"] for o in by_name["items"]] == [target.id]  # the pending one is not shown to a bank
    assert by_name["items"][0]["credit_code"] == target.credit_code and by_name["items"][0]["kind"] == "enterprise"
    wildcard = client.get("/api/v1/organisations", query_string={"name": "%_"}, headers=headers).get_json()
    assert wildcard["items"] == []  # LIKE wildcards are matched literally
    bad = client.get("/api/v1/organisations", query_string={"credit_code": "91500112MA5UX00010"}, headers=headers)
    assert bad.status_code == 422 and "credit code" in bad.get_json()["error"]["message"]
    everything = client.get("/api/v1/organisations", headers=headers)
    assert everything.status_code == 422 and "credit code or part of its name" in everything.get_json()["error"][
        "message"]
    staff = _bearer(client, factory.user(Role.STAFF))
    queue = client.get("/api/v1/organisations", query_string={"status": "pending", "name": "查找测试"},
                       headers=staff).get_json()
    assert [o["id"] for o in queue["items"]] == [pending.id]
    enterprise = _bearer(client, factory.user(Role.ENTERPRISE))
    assert client.get("/api/v1/organisations", query_string={"name": "查找测试"},
                      headers=enterprise).status_code == 403


def test_staff_verify_and_reject_organisations_through_the_api(client, session, factory):
    staff = factory.user(Role.STAFF)
    headers = _bearer(client, staff)
    first = factory.org(OrgKind.ENTERPRISE, status=OrgStatus.PENDING)
    second = factory.org(OrgKind.BANK, status=OrgStatus.PENDING)
    verified = client.post(f"/api/v1/organisations/{first.id}/decision", json={"approve": True}, headers=headers)
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["status"] == "verified" and verified.get_json()["verified_at"]
    again = client.post(f"/api/v1/organisations/{first.id}/decision", json={"approve": True}, headers=headers)
    assert again.status_code == 409
    no_reason = client.post(f"/api/v1/organisations/{second.id}/decision", json={"approve": False}, headers=headers)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["message"]
    rejected = client.post(f"/api/v1/organisations/{second.id}/decision",
                           json={"approve": False, "reason": "营业执照不清晰"}, headers=headers)
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["status_reason"] == "营业执照不清晰"
    assert client.post("/api/v1/organisations/999999/decision", json={"approve": True},
                       headers=headers).status_code == 404
    bank = _bearer(client, factory.user(Role.BANK))
    third = factory.org(OrgKind.ENTERPRISE, status=OrgStatus.PENDING)
    assert client.post(f"/api/v1/organisations/{third.id}/decision", json={"approve": True},
                       headers=bank).status_code == 403
    session.expire_all()
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "organisation", AuditEntry.entity_id.in_([str(first.id), str(second.id)]),
        AuditEntry.actor_id == staff.id).order_by(AuditEntry.id)).all()
    assert actions == ["organisation.verified", "organisation.rejected"]
