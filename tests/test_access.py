"""Access: every route × every role. An explicit table for the routes whose access is a rule, and a sweep of every
GET route in the app (areas included) for every role: never a 500, anonymous users never see a private page."""

from __future__ import annotations

import pytest

from market.accounts.models import Role
from tests.conftest import login

ROLES = [None] + [r.value for r in Role]
PUBLIC = 200
LOGIN = 302  # redirected to the log-in page
DENIED = 403

# path → expected status for anonymous, then for each role in Role order
# (enterprise, bank, bidder, staff, valuer, guarantor, insurer)
TABLE = {
    "/": [PUBLIC] * 8,
    "/login": [PUBLIC] + [302] * 7,  # logged-in users go to their workspace
    "/signup": [PUBLIC] + [302] * 7,
    "/workspace": [LOGIN] + [PUBLIC] * 7,
    "/organisation/": [LOGIN] + [PUBLIC] * 7,
    "/account/password": [LOGIN] + [PUBLIC] * 7,
    "/staff/": [LOGIN, DENIED, DENIED, DENIED, PUBLIC, DENIED, DENIED, DENIED],
    "/staff/organisations": [LOGIN, DENIED, DENIED, DENIED, PUBLIC, DENIED, DENIED, DENIED],
    "/staff/audit": [LOGIN, DENIED, DENIED, DENIED, PUBLIC, DENIED, DENIED, DENIED],
    "/api/v1/me": [401] * 8,  # the API takes bearer tokens only, never the session cookie
    "/api/v1/openapi.json": [PUBLIC] * 8,
}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_role_route_table(client, factory, role):
    if role:
        login(client, factory.user(role))
    index = ROLES.index(role)
    got = {path: client.get(path).status_code for path in TABLE}
    expected = {path: statuses[index] for path, statuses in TABLE.items()}
    assert got == expected


def get_routes(app):
    """Every GET route, with ids that do not exist (999999) and strings that match nothing."""
    adapter = app.url_map.bind("market.test")
    routes = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {}
        for arg, converter in rule._converters.items():
            numeric = type(converter).__name__ in ("IntegerConverter", "NumberConverter", "FloatConverter")
            values[arg] = 999999 if numeric else "nonexistent"
        routes.add(adapter.build(rule.endpoint, values))
    return sorted(routes)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_every_get_route_for_every_role(app, client, factory, role):
    if role:
        login(client, factory.user(role))
    problems = []
    for url in get_routes(app):
        response = client.get(url)
        status = response.status_code
        if status >= 500:
            problems.append((url, status))
        if role is None and status == 200 and not _public(url):
            problems.append((url, "anonymous got a private page"))
    assert not problems


PUBLIC_PREFIXES = ("/api/v1/openapi", "/api/v1/docs", "/login", "/signup", "/public", "/results", "/bulletins",
                   "/exchange", "/auctions", "/plans", "/stats", "/dashboard", "/api/v1/plans", "/api/v1/auctions",
                   "/api/v1/listings", "/api/v1/bulletins", "/api/v1/stats", "/needs/bulletins",
                   "/api/v1/policies", "/api/v1/rates")  # the compensation policy and the benchmark rates are public


def _public(url: str) -> bool:
    return url == "/" or url.startswith(PUBLIC_PREFIXES)
