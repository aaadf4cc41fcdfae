"""API shapes and statuses: needs, matches, products, claims, offers."""

from __future__ import annotations

import pytest

from market.accounts.models import Role
from market.ip.models import IpKind
from tests.factories import make_asset


def test_api_story(client, session, factory, kit, bearer):
    ent, staff, bank = factory.user(Role.ENTERPRISE), factory.user(Role.STAFF), factory.user(Role.BANK)
    a1, a2 = make_asset(session, ent.organisation), make_asset(session, ent.organisation, kind=IpKind.UTILITY_MODEL)
    e, s, b = bearer(ent), bearer(staff), bearer(bank)

    r = client.post("/api/v1/needs", headers=e, json={
        "title": "API 需求", "amount": "3000000.00", "term_months": 12, "purpose": "扩产", "max_rate": 0.06,
        "asset_ids": [a1.id, a2.id], "submit": True})
    assert r.status_code == 201, r.json
    need = r.json
    assert need["status"] == "submitted" and need["amount"] == "3000000.00" and need["max_rate"] == "0.060000"
    assert client.get(f"/api/v1/needs/{need['id']}", headers=b).status_code == 404
    r = client.post(f"/api/v1/needs/{need['id']}/review", headers=s, json={"approve": True, "checklist": {
        "identity": True, "assets": True, "terms": True, "purpose": True}})
    assert r.status_code == 200 and r.json["status"] == "published"

    r = client.post("/api/v1/products", headers=b, json={
        "name": "API 产品", "min_amount": "1000000", "max_amount": "5000000", "min_term_months": 6,
        "max_term_months": 24, "min_rate": "0.0435", "max_rate": "0.058", "accepted_kinds": ["invention"],
        "max_ltv": {"invention": "0.4"}})
    assert r.status_code == 201, r.json
    product = r.json
    assert product["max_ltv"] == {"invention": "0.4"}

    r = client.get("/api/v1/needs?ip_kind=utility_model&per_page=5", headers=b)
    assert r.status_code == 200
    assert set(r.json) >= {"total", "page", "per_page", "items", "facets"} and r.json["per_page"] == 5
    assert need["id"] in [n["id"] for n in r.json["items"]]
    assert {"value": "utility_model", "count": r.json["facets"]["ip_kind"][0]["count"]} in r.json["facets"]["ip_kind"]

    r = client.get("/api/v1/matches", headers=b)
    mine = [m for m in r.json["items"] if m["need_id"] == need["id"]][0]
    assert mine["product_id"] == product["id"] and 0 < mine["score"] < 100
    assert {x["criterion"] for x in mine["reasons"]} == {"amount", "term", "rate", "ip_kinds", "industry",
                                                        "preferred_bank"}
    assert all(isinstance(x["message"], str) and x["message"] for x in mine["reasons"])
    r = client.get(f"/api/v1/needs/{need['id']}/matches", headers=e)
    assert r.json["items"][0]["product_id"] == product["id"]

    r = client.post(f"/api/v1/needs/{need['id']}/claims", headers=b, json={"product_id": product["id"]})
    assert r.status_code == 201 and r.json["status"] == "interest"
    assert client.post(f"/api/v1/needs/{need['id']}/claims", headers=b, json={}).status_code == 409
    r = client.post(f"/api/v1/needs/{need['id']}/offers", headers=b, json={
        "amount": "2800000", "annual_rate": 0.052, "term_months": 12})
    assert r.status_code == 201 and r.json["annual_rate"] == "0.052000" and r.json["status"] == "pending"
    offer = r.json
    assert client.post(f"/api/v1/offers/{offer['id']}/accept", headers=b).status_code == 403
    r = client.post(f"/api/v1/offers/{offer['id']}/accept", headers=e)
    assert r.status_code == 200 and r.json["status"] == "accepted" and r.json["decided_at"]
    r = client.get(f"/api/v1/needs/{need['id']}", headers=e)
    assert r.json["status"] == "in_talks" and r.json["accepted_offer_id"] == offer["id"]
    assert client.get(f"/api/v1/needs/{need['id']}/offers", headers=e).json["items"][0]["id"] == offer["id"]


@pytest.mark.parametrize("body,status", [
    ({}, 422),
    ({"title": "x", "amount": "abc", "term_months": 12, "purpose": "p", "max_rate": "0.06", "asset_ids": []}, 422),
    ({"title": "x", "amount": "100", "term_months": 12, "purpose": "p", "max_rate": "0.06", "asset_ids": []}, 422),
    ({"title": "x", "amount": "100", "term_months": 12, "purpose": "p", "max_rate": "6", "asset_ids": [1]}, 422),
    ({"title": "x", "amount": "100", "term_months": 12, "purpose": "p", "max_rate": "0.06",
      "asset_ids": [99999999]}, 403),
])
def test_api_bad_input_is_a_json_error_never_500(client, factory, bearer, body, status):
    r = client.post("/api/v1/needs", headers=bearer(factory.user(Role.ENTERPRISE)), json=body)
    assert r.status_code == status
    assert set(r.json["error"]) >= {"code", "message"}


def test_api_needs_auth_and_role(client, factory, bearer):
    assert client.get("/api/v1/needs").status_code == 401
    assert client.post("/api/v1/needs", headers=bearer(factory.user(Role.BANK)), json={}).status_code in (403, 422)
    assert client.get("/api/v1/matches", headers=bearer(factory.user(Role.ENTERPRISE))).status_code == 403
    assert "/api/v1/needs" in client.get("/api/v1/openapi.json").json["paths"]
