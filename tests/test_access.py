"""Access: every route × every role. An explicit table for the routes whose access is a rule, and a sweep of every
GET route in the app (areas included) for every role: never a 500, anonymous users never see a private page."""

from __future__ import annotations

import pytest
from werkzeug.routing.converters import NumberConverter

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
            numeric = isinstance(converter, NumberConverter)  # int (market.web.RowIdConverter too) and float
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
        if status >= 500 and not (url == "/readyz" and status == 503):  # not ready: no clocks run in tests
            problems.append((url, status))
        if role is None and status == 200 and not _public(url):
            problems.append((url, "anonymous got a private page"))
    assert not problems


PUBLIC_PREFIXES = ("/api/v1/openapi", "/api/v1/docs", "/login", "/signup", "/public", "/results", "/bulletins",
                   "/exchange", "/auctions", "/plans", "/stats", "/dashboard", "/api/v1/plans", "/api/v1/auctions",
                   "/api/v1/listings", "/api/v1/bulletins", "/api/v1/stats", "/needs/bulletins",
                   "/api/v1/policies", "/api/v1/rates",  # the compensation policy and the benchmark rates are public
                   "/healthz", "/readyz")  # for the load balancer and the monitoring: no personal data


def _public(url: str) -> bool:
    return url == "/" or url.startswith(PUBLIC_PREFIXES)


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Write routes open to visitors who are not logged in.
# The calculator is public; a token is issued against an e-mail and password.
ANONYMOUS_WRITES = ("/login", "/signup", "/language/", "/plans", "/api/v1/plans/evaluate", "/api/v1/tokens")


def write_routes(app):
    """(method, path) of every state-changing route, with ids that do not exist and strings that match nothing."""
    adapter = app.url_map.bind("market.test")
    routes = set()
    for rule in app.url_map.iter_rules():
        values = {}
        for arg, converter in rule._converters.items():
            numeric = isinstance(converter, NumberConverter)  # int (market.web.RowIdConverter too) and float
            values[arg] = 999999 if numeric else "nonexistent"
            if hasattr(converter, "items"):  # any(...): one of a fixed set of words
                values[arg] = sorted(converter.items)[0]
        path = adapter.build(rule.endpoint, values)
        routes.update((method, path) for method in rule.methods if method in WRITE_METHODS)
    return sorted(routes)


def _audit_count(session) -> int:
    from sqlalchemy import func, select

    from market.audit.models import AuditEntry

    return session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_every_write_route_for_every_role(app, client, session, factory, role):
    """The method column of the table: every POST/PUT/PATCH/DELETE route, empty body, for every role. Never a
    500; a visitor who is not logged in is sent to log in (pages) or refused with 401 (API) and nothing is
    written (the API checks the token before the body: 401, not 422); a logged-in role sending nothing writes
    nothing either."""
    if role:
        login(client, factory.user(role))
    routes = write_routes(app)
    assert len(routes) > 100  # every area's forms and API operations, not a part of them
    problems = []
    for method, path in routes:
        before = _audit_count(session)
        response = client.open(path, method=method, json={} if path.startswith("/api/") else None)
        status = response.status_code
        if status >= 500:
            problems.append((method, path, status))
        if role is None and not path.startswith(ANONYMOUS_WRITES):
            location = response.headers.get("Location", "")
            refused = (401, 404) if path.startswith("/api/") else (404,)
            if not (status in refused or (status == 302 and "/login" in location)):
                problems.append((method, path, status, "anonymous was not refused"))
        if _audit_count(session) != before and not path.startswith(("/login", "/logout", "/language/")):
            problems.append((method, path, status, "an empty request changed something"))
    assert not problems
