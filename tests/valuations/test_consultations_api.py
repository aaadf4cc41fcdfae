"""API parity with the consultation pages: an enterprise requests a consultation (chosen expert or matched), the
conflict rule holds through the API (a tied expert cannot be chosen and is never matched), the expert answers with a
plan, the enterprise closes it; nobody else can read or answer it."""

from __future__ import annotations

from sqlalchemy import select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.valuations import conflicts, experts
from market.valuations.models import Consultation
from tests.conftest import NOW, PASSWORD
from tests.factories import make_asset


def _token(client, user) -> dict:
    r = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}", "Accept-Language": "en"}


def _expert(session, factory, symbols):
    user = factory.user(Role.VALUER)
    profile = experts.save_expert_profile(session, user, title="资产评估师", bio="", specialities=symbols, now=NOW)
    session.commit()
    return user, profile


def test_request_answer_close_and_the_conflict_rule_through_the_api(client, session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id, ipc=("H01M10/0525",))
    tied, tied_profile = _expert(session, factory, ["H01M"])
    free, free_profile = _expert(session, factory, ["H"])
    conflicts.declare_conflict(session, tied, tied_org_id=owner.organisation_id, asset_id=None, reason="亲属任职",
                               whole_agency=False, now=NOW)
    session.commit()
    ot = _token(client, owner)

    # The tied expert cannot be chosen ...
    refused = client.post("/api/v1/consultations", headers=ot, json={
        "question": "质押多少合适？", "asset_id": asset.id, "expert_id": tied_profile.id})
    assert refused.status_code == 409 and "conflict of interest" in refused.get_json()["error"]["message"]
    # ... and is not matched, though its speciality fits better.
    matched = client.post("/api/v1/consultations", headers=ot, json={"question": "质押多少合适？",
                                                                     "asset_id": asset.id})
    assert matched.status_code == 201, matched.get_json()
    body = matched.get_json()
    assert body["expert"]["id"] == free_profile.id and body["matched"] is True and body["status"] == "requested"
    cid = body["id"]
    both = client.post("/api/v1/consultations", headers=ot, json={"question": "?", "asset_id": asset.id,
                                                                  "need_id": 1})
    assert both.status_code == 422

    ft, tt = _token(client, free), _token(client, tied)
    assert [c["id"] for c in client.get("/api/v1/consultations", headers=ft).get_json()["items"]] == [cid]
    assert client.get(f"/api/v1/consultations/{cid}", headers=tt).status_code == 404  # not the expert asked
    stranger = _token(client, factory.user(Role.ENTERPRISE))
    assert client.get(f"/api/v1/consultations/{cid}", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/consultations/{cid}/answer", headers=tt,
                       json={"answer": "x"}).status_code == 404
    bad = client.post(f"/api/v1/consultations/{cid}/answer", headers=ft,
                      json={"answer": "建议", "suggested_amount": "1e400"})
    assert bad.status_code == 422
    answered = client.post(f"/api/v1/consultations/{cid}/answer", headers=ft, json={
        "answer": "建议以抵押贷款价值申请，期限一年。", "suggested_amount": "500000.00",
        "suggested_term_months": 12, "suggested_value_type": "mortgage_lending"})
    assert answered.status_code == 200, answered.get_json()
    out = answered.get_json()
    assert out["status"] == "answered" and out["suggested_amount"] == "500000.00" and out["answered_at"]
    assert out["suggested_value_type"] == "mortgage_lending"
    assert client.post(f"/api/v1/consultations/{cid}/answer", headers=ft,
                       json={"answer": "again"}).status_code == 409
    assert client.post(f"/api/v1/consultations/{cid}/close", headers=ft).status_code == 403  # a valuer
    closed = client.post(f"/api/v1/consultations/{cid}/close", headers=ot)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert client.get(f"/api/v1/consultations/{cid}", headers=ot).get_json()["closed_at"]

    session.expire_all()
    assert session.scalar(select(Consultation.status).where(Consultation.id == cid)).value == "closed"
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "consultation", AuditEntry.entity_id == str(cid)).order_by(AuditEntry.id)).all()
    assert actions == ["consultation.requested", "consultation.answered", "consultation.closed"]
