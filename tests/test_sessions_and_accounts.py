"""Sessions end on the server, a password change revokes everything else, log-in and sign-up do not tell which
addresses are registered, and the per-address limit sees the client behind a configured proxy."""

from __future__ import annotations

import argon2
import pytest
from sqlalchemy import select

from market.accounts.models import ApiToken, Role
from market.audit.models import AuditEntry
from tests.conftest import DATABASES, PASSWORD, PG_URL, in_threads, login
from tests.factories import bearer, sql_selects
from tests.races import TARGETS, count, private_app, widen_window


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


def test_a_deactivated_account_is_logged_out_at_once(app, client, session, factory):
    """Deactivating an account ends its open sessions and refuses its tokens at the next request, without a
    log-out (the user query asks for an active account; Flask-Login also treats an inactive user as anonymous)."""
    user = factory.user(Role.ENTERPRISE)
    login(client, user)
    headers = bearer(session, user)
    session.commit()
    assert client.get("/workspace").status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    user.active = False
    session.commit()
    response = client.get("/workspace")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_new_session_version_ends_every_session_at_the_next_request(app, client, session, factory):
    user = factory.user(Role.BANK)
    login(client, user)
    assert client.get("/workspace").status_code == 200
    user.session_version += 1  # what log-out and a password change do
    session.commit()
    response = client.get("/workspace")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_page_loads_the_user_with_its_organisation_in_one_query(app, client, session, factory):
    user = factory.user(Role.ENTERPRISE)
    login(client, user)
    with sql_selects(app) as selects:
        page = client.get("/workspace")
    assert page.status_code == 200 and user.organisation.name in page.get_data(as_text=True)
    loads = [s for s in selects if "FROM user_account" in s]
    assert len(loads) == 1 and "organisation" in loads[0], loads
    assert not [s for s in selects if s.split("WHERE")[0].rstrip().endswith("FROM organisation")], selects


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


def test_failed_log_ins_lock_the_address_known_or_not_and_the_lock_is_audited(client, session, factory):
    from market.accounts.service import LOCK_AFTER

    user = factory.user(Role.BANK)
    for email in (user.email, "nobody@example.cq"):
        for _ in range(LOCK_AFTER):
            page = client.post("/login", data={"email": email, "password": "wrong-password-1"}).get_data(as_text=True)
            assert "电子邮件或密码错误" in page
        # Locked: even the right password is refused, with the same words for a registered and an unknown address.
        page = client.post("/login", data={"email": email, "password": PASSWORD}).get_data(as_text=True)
        assert "该电子邮件地址登录失败次数过多，请 1 分钟后再试" in page, email
    api = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "too_many_attempts"
    locks = session.scalars(select(AuditEntry).where(AuditEntry.action == "login.locked")).all()
    assert [(e.entity_type, e.entity_id) for e in locks] == [("user", str(user.id)),
                                                             ("login_email", "nobody@example.cq")]
    assert locks[0].after["failures"] == LOCK_AFTER


def test_the_lock_grows_with_each_failure_and_a_success_clears_it(session, factory):
    from datetime import timedelta

    from market.accounts import service
    from market.accounts.models import LoginThrottle
    from tests.conftest import NOW

    user = factory.user(Role.BANK)
    for _ in range(service.LOCK_AFTER):
        service.note_login_failure(session, user.email.upper(), NOW)
    assert session.get(LoginThrottle, user.email).locked_until == NOW + timedelta(minutes=1)
    with pytest.raises(service.LoginLocked):
        service.authenticate(session, user.email, PASSWORD, NOW + timedelta(seconds=59))
    service.note_login_failure(session, user.email, NOW + timedelta(minutes=1))
    assert session.get(LoginThrottle, user.email).locked_until == NOW + timedelta(minutes=3)  # 2 minutes now
    for _ in range(20):
        throttle = service.note_login_failure(session, user.email, NOW + timedelta(minutes=5))
    assert throttle.locked_until == NOW + timedelta(minutes=65)  # at most an hour
    assert service.authenticate(session, user.email, PASSWORD, NOW + timedelta(minutes=66)) is user
    session.flush()
    assert session.get(LoginThrottle, user.email) is None


def _parallel_failed_log_ins(app, email: str, count: int) -> list[int]:
    import threading

    barrier = threading.Barrier(count)
    statuses: list[int | None] = [None] * count

    def run(index: int) -> None:
        with app.test_client() as client:
            barrier.wait(timeout=10)
            statuses[index] = client.post("/api/v1/tokens",
                                          json={"email": email, "password": "wrong-password-1"}).status_code

    in_threads(run, [(i,) for i in range(count)], timeout=60)
    return statuses


@pytest.mark.parametrize("database", DATABASES)
def test_parallel_failures_are_all_counted(make_app, database):
    """The counter is one atomic upsert: four wrong passwords at the same moment count four, never fewer."""
    from market.accounts.models import LoginThrottle
    from market.db import db

    app = make_app(**({"url": PG_URL} if database == "postgresql" else {}))
    statuses = _parallel_failed_log_ins(app, "target@example.cq", 4)
    assert statuses == [401] * 4
    with app.app_context():
        assert db.session.get(LoginThrottle, "target@example.cq").failures == 4


@pytest.mark.parametrize("target", TARGETS)
def test_two_sign_ups_of_one_address_at_once_make_one_account(make_app, monkeypatch, target):
    """Both pass the "is this address registered?" check before either writes (widen_window holds them there):
    the unique index decides, and the loser gets the same answer as any sign-up, never a 500."""
    import threading

    from market.accounts import service as accounts
    from market.accounts.models import User

    app = private_app(make_app, target, PROPAGATE_EXCEPTIONS=False)
    widen_window(monkeypatch, accounts, "hash_password", 2)
    form = {"role": "bidder", "name": "赵六", "email": "race@example.cq", "password": "Jiefangbei-hotpot-2027",
            "confirm": "Jiefangbei-hotpot-2027"}
    barrier, codes = threading.Barrier(2), []

    def sign_up():
        with app.test_client() as client:
            barrier.wait(10)
            codes.append(client.post("/signup", data=form).status_code)

    in_threads(sign_up, [()] * 2, timeout=30)
    assert codes == [302, 302], codes
    assert count(app, User, User.email == "race@example.cq") == 1
