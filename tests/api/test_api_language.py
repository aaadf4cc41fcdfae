"""API error messages come in the client's language: Accept-Language first, else the token owner's saved language,
else Chinese (the default)."""

from __future__ import annotations

import re

import pytest

from market.accounts.models import Role
from market.api.auth import issue_token
from tests.conftest import NOW

CJK = re.compile(r"[\u4e00-\u9fff]")


def _bearer(session, user):
    _token, secret = issue_token(session, user, "language", "read write", NOW)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("saved, header, chinese", [
    ("zh_CN", None, True),
    ("en", None, False),                    # the token owner's saved language
    ("zh_CN", "en-US,en;q=0.9", False),     # the header wins
    ("en", "zh-CN,zh;q=0.9", True),
    ("en", "fr-FR", False),                 # nothing offered matches: the saved language
])
def test_error_messages_follow_the_client(client, session, factory, saved, header, chinese):
    user = factory.user(Role.BANK, locale=saved)
    headers = _bearer(session, user)
    if header:
        headers["Accept-Language"] = header
    response = client.get("/api/v1/needs/987654", headers=headers)
    assert response.status_code == 404
    message = response.get_json()["error"]["message"]
    assert bool(CJK.search(message)) is chinese, message


def test_unauthenticated_error_follows_the_header(client):
    english = client.get("/api/v1/loans", headers={"Accept-Language": "en"}).get_json()["error"]["message"]
    chinese = client.get("/api/v1/loans").get_json()["error"]["message"]
    assert not CJK.search(english) and CJK.search(chinese)
