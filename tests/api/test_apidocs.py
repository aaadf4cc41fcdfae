"""The interactive docs page (served from our own files, no CDN, CSP-clean) and the account's "API tokens" page."""

from __future__ import annotations

import re

import pytest

from market.accounts.models import ApiToken, Role
from tests.conftest import login, screenshot


def test_docs_page_serves_swagger_ui_from_our_own_files(client, session):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert "/api/v1/docs/vendor/swagger-ui-bundle.js" in sources and "/static/apidocs/init.js" in sources
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert "<script>" not in html and 'style="' not in html
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    # readable without JavaScript: every operation listed by the server
    assert "/api/v1/tokens/{token_id}" in html and "/api/v1/auctions/{listing_id}/bids" in html
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        response = client.get(f"/api/v1/docs/vendor/{name}")
        assert response.status_code == 200 and len(response.get_data()) > 1000
        response.close()
    assert client.get("/api/v1/docs/vendor/../../etc/passwd").status_code == 404
    assert client.get("/api/v1/docs/vendor/index.html").status_code == 404


def test_docs_are_in_the_nav(client, session):
    assert 'href="/api/v1/docs"' in client.get("/").get_data(as_text=True)


def test_tokens_page_needs_login(client, session):
    assert client.get("/account/api-tokens").status_code == 302


def test_create_shown_once_list_and_revoke(client, session, login_as):
    user = login_as(Role.BANK)
    page = client.get("/account/api-tokens")
    assert page.status_code == 200 and "API 令牌" in page.get_data(as_text=True)
    created = client.post("/account/api-tokens", data={"name": "总行信贷系统", "scopes": ["read"]})
    html = created.get_data(as_text=True)
    secret = re.search(r'id="new-token">(ipm_[^<]+)<', html).group(1)
    token = session.query(ApiToken).filter_by(user_id=user.id).one()
    assert token.scopes == "read" and secret.startswith(token.prefix)
    again = client.get("/account/api-tokens").get_data(as_text=True)
    assert secret not in again and token.prefix in again and "总行信贷系统" in again and "从未" in again
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert "从未" not in client.get("/account/api-tokens").get_data(as_text=True)  # last used shown
    assert client.post(f"/account/api-tokens/{token.id}/revoke").status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert "已撤销" in client.get("/account/api-tokens").get_data(as_text=True)


def test_create_needs_a_scope(client, session, login_as):
    login_as(Role.BANK)
    html = client.post("/account/api-tokens", data={"name": "x"}).get_data(as_text=True)
    assert "ipm_" not in html


def test_cannot_revoke_someone_elses_token(client, session, factory, login_as):
    from market.api.auth import issue_token
    from tests.conftest import NOW

    other = factory.user(Role.BANK)
    token, _secret = issue_token(session, other, "theirs", "read", NOW)
    session.commit()
    login_as(Role.BANK)
    client.post(f"/account/api-tokens/{token.id}/revoke")
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is None


@pytest.mark.browser
def test_swagger_ui_renders_under_the_csp(live_server, page_for, make_app):
    from market.db import db

    app, url = live_server
    with app.app_context():
        from market.accounts.models import Organisation, OrgKind, OrgStatus, User
        from market.db import utcnow
        from market.security import hash_password

        org = Organisation(kind=OrgKind.BANK, name="文档测试银行", status=OrgStatus.VERIFIED, created_at=utcnow())
        db.session.add(org)
        db.session.add(User(email="docs@example.cq", password_hash=hash_password("correct-horse-42"), name="docs",
                            role=Role.BANK, organisation=org, created_at=utcnow()))
        db.session.commit()
    page = page_for()
    page.goto(f"{url}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20000)
    assert page.locator(".swagger-ui .opblock").count() >= 30
    assert page.get_by_text("/api/v1/tokens/{token_id}").count() >= 1
    screenshot(page, "apidocs")


_ = login  # re-exported helper kept for readers
