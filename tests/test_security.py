"""CSRF, rate limits, security headers, safe redirects, API errors and tokens."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from market.accounts.models import Role, User
from market.db import db
from market.security import safe_next
from tests.conftest import PASSWORD, login


def test_forged_csrf_token_is_refused_with_a_clear_message_and_saves_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/signup").get_data(as_text=True)
    assert re.search(r'name="csrf_token" type="hidden" value="[^"]+"', page)
    response = client.post("/signup", data={
        "csrf_token": "forged", "role": "bank", "name": "李四", "email": "li@example.cq",
        "password": "Chongqing2026x", "confirm": "Chongqing2026x", "org_name": "伪造银行",
    })
    assert response.status_code in (200, 400)
    assert "表单已过期或并非来自本站" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_state_changing_posts_without_token_are_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/language/en", data={})
    assert response.status_code == 400


def test_login_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/login", data={"email": "x@example.cq", "password": "wrong-password-1"}).status_code
             for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    page = client.post("/login", data={"email": "x@example.cq", "password": "x"}).get_data(as_text=True)
    assert "尝试次数过多" in page


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = client.get("/login").headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_no_inline_scripts_or_styles_in_pages(client, login_as):
    login_as(Role.STAFF)
    for path in ["/", "/workspace", "/staff/", "/staff/audit", "/organisation/"]:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html, path


@pytest.mark.parametrize(
    "target, expected",
    [("/workspace", "/workspace"), ("https://evil.example/", None), ("//evil.example", None), ("/\\evil", None),
     ("javascript:alert(1)", None), ("", None)],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_login_follows_only_local_next(client, factory):
    user = factory.user(Role.BANK)
    response = client.post("/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/workspace")


def test_script_in_text_fields_comes_back_escaped(client, session, login_as):
    user = login_as(Role.ENTERPRISE)
    probe = "<script>alert(1)</script>"
    org = user.organisation
    client.post("/organisation/", data={"org_name": org.name, "credit_code": org.credit_code,
                                        "contact_name": probe, "address": probe})
    page = client.get("/organisation/").get_data(as_text=True)
    assert probe not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_api_token_and_errors(client, factory):
    user = factory.user(Role.BANK)
    assert client.get("/api/v1/me").status_code == 401
    body = client.get("/api/v1/me").get_json()
    assert body["error"]["code"] and body["error"]["message"]
    bad = client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong-one-123"})
    assert bad.status_code == 401 and "error" in bad.get_json()
    invalid = client.post("/api/v1/tokens", json={"email": "not-an-email"})
    assert invalid.status_code == 422 and invalid.get_json()["error"]["code"]
    token = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert token.status_code == 201
    secret = token.get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["role"] == "bank"
    read_only = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD, "scopes": "read"})
    assert read_only.get_json()["scopes"] == "read"


def test_api_404_is_json_and_html_404_is_a_page(client):
    assert client.get("/api/v1/nothing-here").get_json()["error"]["code"] == "not_found"
    assert "页面不存在" in client.get("/nothing-here").get_data(as_text=True)


def test_openapi_document_is_served(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and "/api/v1/tokens" in doc["paths"]


def test_disabled_account_cannot_log_in(client, factory):
    user = factory.user(Role.BANK)
    user.active = False
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert "该账号已停用" in response.get_data(as_text=True)


def test_logout_requires_post(client, factory):
    user = factory.user(Role.BANK)
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/workspace").status_code == 302
