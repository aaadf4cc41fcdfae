"""Schemathesis over the served OpenAPI document (/api/v1/openapi.json), against the WSGI app, with a bank's bearer
token: every operation, a bounded number of generated examples, no 5xx and every response as the document says.

Schemathesis' pytest plugin (`schemathesis.pytest.from_fixture`) does not work with pytest 9 (it reads a private
`_nodeid`), so the test walks the operations itself with schemathesis' Python API and Hypothesis' `@given`.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from market.accounts.models import Role
from market.api.auth import issue_token
from tests.conftest import DATABASES, NOW, PG_URL

EXAMPLES = 5
# Services raise InvalidInput (422) for rules a JSON schema cannot state (an unknown organisation id, a minimum above
# the maximum, ...): a schema-valid request may rightly be refused with 422, so "positive data acceptance" is not
# checked. Everything else is: no 5xx, status codes, content types and bodies as documented, auth enforced.
EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance]

# Failures in other areas' endpoints, reported to their owners: operation -> a text the failure must contain to be
# tolerated (any other failure of the operation still fails the test). Remove the entry when the owner fixes it.
KNOWN_MISMATCHES: dict[str, str] = {}


def documents_success(operation) -> bool:
    return any(str(code).startswith("2") for code in operation.definition.raw.get("responses", {}))


def _label(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


def run_operation(operation, headers, statuses: list[int]) -> str | None:
    """Generate and send EXAMPLES cases; returns the first failure as text, or None.

    An operation whose document declares no 2xx response (only `default`, the error envelope) cannot have its
    success bodies checked: for those responses the body check is skipped (everything else still applies) and the
    operation is listed by `test_every_operation_documents_its_success_response`."""
    failures: list[str] = []
    undocumented = not documents_success(operation)

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call(headers=headers)
        statuses.append(response.status_code)
        excluded = list(EXCLUDED_CHECKS)
        if undocumented and 200 <= response.status_code < 300:
            excluded.append(schemathesis.checks.response_schema_conformance)
        case.validate_response(response, headers=headers, excluded_checks=excluded)

    try:
        check()
    except BaseException as exc:  # noqa: BLE001 - FailureGroup is a BaseExceptionGroup; reported per operation
        if isinstance(exc, KeyboardInterrupt):
            raise
        parts = [f"{type(exc).__name__}: {exc}"]
        parts += [f"{type(e).__name__}: {e}" for e in getattr(exc, "exceptions", ())]
        failures.append("\n".join(parts))
    return failures[0] if failures else None


def bearer_for(session, user, name="schemathesis") -> dict:
    _token, secret = issue_token(session, user, name, "read write", NOW)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def seed_listing(session, owner) -> int:
    """A lot in bidding, so the exchange's GET operations also answer with a body (random ids rarely exist)."""
    from datetime import timedelta
    from decimal import Decimal

    from market.exchange.models import Listing, ListingSource, ListingStatus
    from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState

    asset = IpAsset(kind=IpKind.INVENTION, application_number="209912345678S", title="接口测试专利",
                    owner_org_id=owner.organisation_id, legal_status=LegalStatus.GRANTED,
                    pledge_state=PledgeState.FREE, created_at=NOW, updated_at=NOW)
    session.add(asset)
    session.flush()
    listing = Listing(asset_id=asset.id, source=ListingSource.VOLUNTARY, title="接口测试拍卖",
                      valuation=Decimal("1000000"), starting_price=Decimal("700000"), increment=Decimal("10000"),
                      deposit_amount=Decimal("70000"), notice_starts_at=NOW - timedelta(days=40),
                      bidding_starts_at=NOW - timedelta(hours=1), scheduled_ends_at=NOW + timedelta(days=3650),
                      ends_at=NOW + timedelta(days=3650), status=ListingStatus.BIDDING, rules_version="test",
                      created_at=NOW, updated_at=NOW)
    session.add(listing)
    session.commit()
    return listing.id


SEEDED_PARAMETERS = ("listing_id",)


def run_seeded(operation, headers, ids: dict) -> str | None:
    """One call of a GET operation whose path parameters all name seeded rows."""
    names = [p["name"] for p in operation.definition.raw.get("parameters", []) if p.get("in") == "path"]
    names += [p.name for p in operation.path_parameters] if not names else []
    if operation.method.upper() != "GET" or not names or not all(n in ids for n in names):
        return None
    case = operation.Case(path_parameters={n: ids[n] for n in names})
    try:
        response = case.call(headers=headers)
        excluded = list(EXCLUDED_CHECKS)
        if not documents_success(operation) and 200 <= response.status_code < 300:
            excluded.append(schemathesis.checks.response_schema_conformance)
        case.validate_response(response, headers=headers, excluded_checks=excluded)
    except BaseException as exc:  # noqa: BLE001 - reported per operation
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "\n".join([f"{type(exc).__name__}: {exc}"] + [f"{type(e).__name__}: {e}"
                                                              for e in getattr(exc, "exceptions", ())])
    return None


def database_still_usable(app) -> str | None:
    """The database still answers after the operation (nothing left locked or broken)."""
    from sqlalchemy import text

    from market.db import db

    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported for the operation that caused it
            return f"the database no longer answers: {type(exc).__name__}: {exc}"
    return None


@pytest.mark.parametrize("database", DATABASES)
def test_every_operation_conforms_to_the_document(make_app, database):
    """On a private app (own database): every request has its own session and transaction, as in production."""
    from market.db import db
    from tests.conftest import Factory

    app = make_app(url=PG_URL) if database == "postgresql" else make_app()
    with app.app_context():  # set up, then leave: each request below gets its own app context and session
        bank_user = Factory(db.session).user(Role.BANK)
        bearer = bearer_for(db.session, bank_user)
        revoker = bearer_for(db.session, bank_user, "to revoke")
        ids = {"listing_id": seed_listing(db.session, bank_user)}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Revoking tokens runs last, with tokens of its own, so it cannot revoke the one the other operations use.
    operations.sort(key=lambda op: _label(op) == "DELETE /api/v1/tokens/{token_id}")
    problems, authorised = {}, {}
    for operation in operations:
        label = _label(operation)
        headers = bearer
        if label == "DELETE /api/v1/tokens/{token_id}":
            headers = revoker
        statuses: list[int] = []
        failure = run_operation(operation, headers, statuses) or run_seeded(operation, headers, ids)
        failure = failure or database_still_usable(app)
        if operation.definition.raw.get("security") and not failure:
            authorised[label] = any(code != 401 for code in statuses)
        if failure and not (label in KNOWN_MISMATCHES and KNOWN_MISMATCHES[label] in failure):
            problems[label] = failure
    assert len(operations) >= 90
    assert not problems, "Failing operations: " + ", ".join(problems) + "\n\n" + "\n\n".join(
        f"{k}\n{v}" for k, v in problems.items())
    # the token worked: every operation got past authentication at least once
    assert all(authorised.values()), [k for k, v in authorised.items() if not v]


def test_every_operation_documents_its_success_response(app):
    """Every operation documents its success body, so schemathesis checks success responses too."""
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    missing = [f"{method.upper()} {path}" for path, ops in document["paths"].items() for method, op in ops.items()
               if method != "parameters" and not any(code.startswith("2") for code in op["responses"])]
    assert not missing, missing
    assert len(document["paths"]) >= 60  # the whole API is in the document, not a part of it
