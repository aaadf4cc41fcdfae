"""Sessions end on the server, a password change revokes everything else, log-in and sign-up do not tell which
addresses are registered, and the per-address limit sees the client behind a configured proxy."""

from __future__ import annotations

import argon2
from sqlalchemy import select

from market.accounts.models import ApiToken, Role
from market.audit.models import AuditEntry
from tests.conftest import PASSWORD, login


def test_old_session_cookie_is_refused_after_log_out(app, client, factory):
    user = factory.user(Role.ENTERPRISE)
    login(client, user)
    cookie = client.get_cookie("session", domain="market.test")
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    response = replay.get("/workspace")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert app.test_client().get("/workspace").status_code == 302
    login(client, user)  # logging in again works and opens a new session
    assert client.get("/workspace").status_code == 200


def test_password_change_revokes_api_tokens_and_other_sessions(app, client, session, factory):
    user = factory.user(Role.BANK)
    api = app.test_client()
    secret = api.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/me", headers=bearer).status_code == 200
    other = app.test_client()
    login(other, user)
    login(client, user)
    response = client.post("/account/password", data={"current": PASSWORD, "new": "Jiefangbei-hotpot-2027",
                                                      "confirm": "Jiefangbei-hotpot-2027"})
    assert response.status_code == 302
    assert api.get("/api/v1/me", headers=bearer).status_code == 401
    assert other.get("/workspace").status_code == 302
    assert client.get("/workspace").status_code == 200  # the session that changed it stays
    assert all(t.revoked_at is not None for t in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.password_changed")).one()
    assert entry.note == "tokens revoked: 1"


def test_weak_passwords_are_refused_in_english_too(client, factory):
    user = factory.user(Role.BANK)
    login(client, user)
    client.post("/language/en")
    for weak, message in [("abcd123456", "too easy to guess"), ("qwerty1234", "too easy to guess"),
                          ("zhangsan1990", "A name in pinyin with a year")]:
        page = client.post("/account/password", data={"current": PASSWORD, "new": weak, "confirm": weak})
        assert message in page.get_data(as_text=True), weak


def _count_argon2_verifications(monkeypatch) -> list[str]:
    """Records every argon2 verification (the real one still runs) with the hash's parameters."""
    calls: list[str] = []
    real = argon2.PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(hash.rsplit("$", 2)[0])  # algorithm, version and cost parameters
        return real(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    return calls


def test_log_in_does_the_same_work_for_unknown_addresses(client, factory, monkeypatch):
    user = factory.user(Role.BANK)
    calls = _count_argon2_verifications(monkeypatch)
    known = client.post("/login", data={"email": user.email, "password": "wrong-password-1"})
    unknown = client.post("/login", data={"email": "nobody@example.cq", "password": "wrong-password-1"})
    assert known.status_code == unknown.status_code == 200
    assert len(calls) == 2 and calls[0] == calls[1]  # one argon2 verification each, at the same cost
    calls.clear()
    known = client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong-password-1"})
    unknown = client.post("/api/v1/tokens", json={"email": "nobody@example.cq", "password": "wrong-password-1"})
    assert known.status_code == unknown.status_code == 401 and known.get_json() == unknown.get_json()
    assert len(calls) == 2 and calls[0] == calls[1]


def test_sign_up_is_rate_limited_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True, SIGNUP_RATE_LIMIT="2 per hour")
    client = app.test_client()
    codes = [client.post("/signup", data={"role": "bidder", "name": "赵六", "email": f"z{i}@example.cq",
                                          "password": "Jiefangbei-hotpot-2027", "confirm": "Jiefangbei-hotpot-2027"}
                         ).status_code for i in range(3)]
    assert codes == [302, 302, 429]


def _login_codes(client, forwarded_for: list[str]) -> list[int]:
    return [client.post("/login", data={"email": "x@example.cq", "password": "wrong-password-1"},
                        headers={"X-Forwarded-For": address}).status_code for address in forwarded_for]


def test_per_address_limit_sees_the_client_only_behind_a_configured_proxy(make_app):
    # Without a configured proxy X-Forwarded-For is ignored: it cannot buy an attacker fresh addresses.
    direct = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    assert _login_codes(direct.test_client(), ["1.1.1.1", "2.2.2.2", "3.3.3.3"]) == [200, 200, 429]
    # Behind one proxy, each client has its own budget and the limit still holds per client.
    proxied = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute", PROXY_FIX_X_FOR=1)
    client = proxied.test_client()
    assert _login_codes(client, ["1.1.1.1", "2.2.2.2", "3.3.3.3"]) == [200, 200, 200]
    assert _login_codes(client, ["1.1.1.1", "1.1.1.1"]) == [200, 429]
    # A client that forges an extra hop is still counted by the address the proxy saw (the last one).
    assert _login_codes(client, ["9.9.9.9, 1.1.1.1"]) == [429]
