"""API tokens: issued with scopes, listed (prefix, scopes, created, last used), revoked and then refused (401)."""

from __future__ import annotations

from market.accounts.models import ApiToken, Role
from tests.conftest import PASSWORD
from tests.factories import sql_selects


def _issue(client, user, scopes="read write", name="bank-system"):
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD, "scopes": scopes,
                                                   "name": name})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


def test_list_shows_prefix_scopes_and_marks_last_used(client, session, factory):
    user = factory.user(Role.BANK)
    token_id, headers = _issue(client, user, "read")
    token = session.get(ApiToken, token_id)
    assert token.last_used_at is None
    response = client.get("/api/v1/tokens", headers=headers)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [i["id"] for i in items] == [token_id]
    item = items[0]
    assert item["scopes"] == ["read"] and item["prefix"].startswith("ipm_") and item["active"] is True
    assert item["name"] == "bank-system" and item["created_at"].endswith("+00:00")
    assert "token" not in item and "token_hash" not in item
    session.expire_all()
    assert session.get(ApiToken, token_id).last_used_at is not None
    assert client.get("/api/v1/tokens", headers=headers).get_json()["items"][0]["last_used_at"] is not None


def test_revoked_token_is_refused(client, session, factory):
    user = factory.user(Role.BANK)
    first_id, first = _issue(client, user)
    _second_id, second = _issue(client, user)
    assert client.get("/api/v1/me", headers=first).status_code == 200
    response = client.delete(f"/api/v1/tokens/{first_id}", headers=second)
    assert response.status_code == 200 and response.get_json()["active"] is False
    refused = client.get("/api/v1/me", headers=first)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/me", headers=second).status_code == 200
    listed = {i["id"]: i for i in client.get("/api/v1/tokens", headers=second).get_json()["items"]}
    assert listed[first_id]["revoked_at"] is not None and listed[first_id]["active"] is False
    # revoking twice keeps it revoked; a token may revoke itself
    assert client.delete(f"/api/v1/tokens/{first_id}", headers=second).status_code == 200


def test_read_scope_cannot_revoke_and_others_tokens_are_not_found(client, session, factory):
    alice, bob = factory.user(Role.BANK), factory.user(Role.BANK)
    alice_id, alice_read = _issue(client, alice, "read")
    bob_id, bob_all = _issue(client, bob)
    assert client.delete(f"/api/v1/tokens/{alice_id}", headers=alice_read).status_code == 403
    assert client.delete(f"/api/v1/tokens/{alice_id}", headers=bob_all).status_code == 404
    assert client.delete("/api/v1/tokens/999999999", headers=bob_all).status_code == 404
    assert client.delete(f"/api/v1/tokens/{2**70}", headers=bob_all).status_code == 404
    ids = [i["id"] for i in client.get("/api/v1/tokens", headers=bob_all).get_json()["items"]]
    assert ids == [bob_id]


def test_no_or_bad_token_is_401(client, session):
    assert client.get("/api/v1/tokens").status_code == 401
    assert client.get("/api/v1/tokens", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.delete("/api/v1/tokens/1").status_code == 401


def test_wrong_password_gives_no_token(client, session, factory):
    user = factory.user(Role.BANK)
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong-password-1"})
    assert response.status_code == 401


def test_a_request_reads_its_token_once_with_the_user_and_organisation(app, client, session, factory):
    """The 401-before-the-body check and the view's guard share one lookup: one SELECT per API request, which also
    brings the user and the organisation the view reads (before: the token twice, then the user, then the
    organisation)."""
    user = factory.user(Role.BANK)
    _token_id, headers = _issue(client, user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # the first use writes last_used_at
    with sql_selects(app) as selects:
        response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200 and response.get_json()["organisation_id"] == user.organisation_id
    assert len(selects) == 1, selects
    assert all(table in selects[0] for table in ("api_token", "user_account", "organisation"))
    refused = client.get("/api/v1/me", headers={"Authorization": "Bearer ipm_not-a-token"})
    assert refused.status_code == 401
