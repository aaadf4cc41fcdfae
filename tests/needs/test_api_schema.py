"""Success bodies of the needs, ip and valuations API against the served OpenAPI document, with real rows behind
every path parameter (schemathesis' own run in tests/api mostly meets 404s for random ids): each GET operation of
these areas is called as the role that gets a 200 and its response is validated by schemathesis."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import schemathesis

from market.accounts.models import Role
from market.api.auth import issue_token
from market.db import db
from market.ip import saved
from market.ip.indexing import get_backend, reindex
from market.loans.signing import sign_loan_from_offer
from market.needs import bulletin, docking, service
from market.needs.docking import ProductInput
from market.valuations import service as valuations
from market.valuations.models import ValuationMethod, ValueType
from tests.conftest import NOW, Factory
from tests.factories import NeedsKit, all_ticks, make_asset

AREAS = ("/api/v1/needs", "/api/v1/matches", "/api/v1/products", "/api/v1/docking", "/api/v1/offers",
         "/api/v1/bulletins", "/api/v1/patents", "/api/v1/saved-searches", "/api/v1/assets", "/api/v1/valuations",
         "/api/v1/experts")
# role whose token reads the operation (others use the bank's)
ROLE_OF = {"/api/v1/needs/mine": "enterprise", "/api/v1/needs/review-queue": "staff"}
# binary bodies (a PDF) are checked in tests/valuations
SKIP = {"/api/v1/valuations/{valuation_id}/file"}


def seed(session) -> tuple[dict, dict]:
    """One of everything: a need with a loan signed from its accepted offer, a second need in talks with a meeting,
    a product, a bulletin, an issued valuation, a saved search. Returns (path parameter values, users)."""
    f = Factory(session)
    kit = NeedsKit(session, f)
    ent, bank, staff = f.user(Role.ENTERPRISE), f.user(Role.BANK), f.user(Role.STAFF)
    valuer = f.user(Role.VALUER)
    need = kit.published_need(enterprise=ent, staff=staff)
    talks = kit.published_need(enterprise=ent, staff=staff, title="第二个需求")
    product = docking.save_product(session, bank, ProductInput(
        name="科技贷", min_amount=Decimal("500000"), max_amount=Decimal("10000000"), min_term_months=6,
        max_term_months=36, min_rate=Decimal("0.0435"), max_rate=Decimal("0.065"), accepted_kinds=["invention"],
        max_ltv={"invention": Decimal("0.4")}), NOW)
    docking.claim_need(session, bank, talks.id, NOW, product_id=product.id, note="有意向")
    docking.schedule_meeting(session, bank, talks.id, NOW + timedelta(days=3), NOW)
    offer = docking.make_offer(session, bank, need.id, Decimal("2800000"), Decimal("0.052"), 12, NOW,
                               product_id=product.id, conditions="按季付息")
    docking.accept_offer(session, ent, offer.id, NOW)
    sign_loan_from_offer(session, bank, offer.id, signed_on=NOW.date(), now=NOW,
                         registration_number="Y2026500000555")
    asset_id = need.asset_ids[0]
    report = valuations.create_valuation(session, valuer, valuations.ValuationInput(
        asset_id=asset_id, value_type=ValueType.MARKET, amount=Decimal("4000000.00"),
        valuation_date=date(2026, 11, 1), method=ValuationMethod.INCOME, signer_name="陈评估",
        signer_qualification="CPV-1", basis="收益法"), NOW, issue=True)
    draft = service.create_need(session, ent, kit.data([make_asset(kit.session, ent.organisation)], title="草稿"), NOW,
                                submit=True)
    service.review_need(session, staff, draft.id, False, all_ticks(), "材料不全", NOW)
    bulletin.publish_bulletin(session, NOW, until=NOW.date() + timedelta(days=1))
    saved.save_search(session, bank, "电池", {"q": "电池"}, NOW)
    docking.escalate_needs(session, NOW + timedelta(days=60))
    session.commit()
    reindex(session, get_backend(), NOW)
    session.commit()
    ids = {"need_id": need.id, "product_id": product.id, "offer_id": offer.id, "number": 1, "asset_id": asset_id,
           "valuation_id": report.id}
    return ids, {"enterprise": ent, "bank": bank, "staff": staff}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_success_bodies_conform_with_real_rows(make_app, database, tmp_path):
    from tests.conftest import PG_URL

    if database == "postgresql" and not PG_URL:
        pytest.skip("MARKET_TEST_POSTGRESQL_URL not set")
    extra = {"SEARCH_EMBEDDED_PATH": str(tmp_path / "search.sqlite3")}
    app = make_app(url=PG_URL, **extra) if database == "postgresql" else make_app(**extra)
    with app.app_context():
        ids, users = seed(db.session)
        headers = {}
        for role, user in users.items():
            _token, secret = issue_token(db.session, user, "schema", "read", datetime(2026, 1, 1))
            headers[role] = {"Authorization": f"Bearer {secret}"}
        db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checked, problems = [], {}
    for result in schema.get_all_operations():
        operation = result.ok()
        path = operation.path
        if operation.method.upper() != "GET" or not path.startswith(AREAS) or path in SKIP:
            continue
        names = [p.name for p in operation.path_parameters]
        case = operation.Case(path_parameters={n: ids[n] for n in names})
        auth = headers[ROLE_OF.get(path, "bank")]
        response = case.call(headers=auth)
        label = f"GET {path}"
        try:
            assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
            case.validate_response(response, headers=auth)
        except BaseException as exc:  # noqa: BLE001 - FailureGroup is a BaseExceptionGroup; reported per operation
            if isinstance(exc, KeyboardInterrupt):
                raise
            problems[label] = "\n".join([f"{exc}"] + [f"{e}" for e in getattr(exc, "exceptions", ())])
        checked.append(label)
    assert not problems, "\n\n".join(f"{k}\n{v}" for k, v in problems.items())
    assert len(checked) >= 20, checked
    assert {"GET /api/v1/docking/offers", "GET /api/v1/bulletins/{number}", "GET /api/v1/needs/{need_id}",
            "GET /api/v1/patents/{asset_id}", "GET /api/v1/valuations/{valuation_id}"} <= set(checked)


PRODUCT = {"name": "科技贷", "min_amount": "1000000", "max_amount": "5000000", "min_term_months": 6,
           "max_term_months": 24, "min_rate": "0.0435", "max_rate": "0.058", "accepted_kinds": ["invention"],
           "max_ltv": {"invention": "0.4"}}


def test_write_operations_answer_as_documented(make_app, tmp_path):
    """Each write operation of these areas, called once with valid input as the role allowed to, answers with its
    documented success status and a body that conforms to the document."""
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    with app.app_context():
        f = Factory(db.session)
        kit = NeedsKit(db.session, f)
        users = {role: f.user(role) for role in ("enterprise", "bank", "staff", "valuer")}
        users.update(bank2=f.user(Role.BANK), bank3=f.user(Role.BANK))
        assets = [make_asset(kit.session, users["enterprise"].organisation) for _ in range(2)]
        headers = {}
        for role, user in users.items():
            _token, secret = issue_token(db.session, user, "schema", "read write", datetime(2026, 1, 1))
            headers[role] = {"Authorization": f"Bearer {secret}"}
        db.session.commit()
        asset_ids = [a.id for a in assets]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    done: list[str] = []

    def call(method, path, role, body=None, **params):
        case = schema[path][method].Case(path_parameters=params, body=body) if body is not None else \
            schema[path][method].Case(path_parameters=params)
        response = case.call(headers=headers[role])
        assert 200 <= response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
        case.validate_response(response, headers=headers[role])
        done.append(f"{method} {path}")
        return response.json() if response.content else None

    product = call("POST", "/api/v1/products", "bank", PRODUCT)
    call("PUT", "/api/v1/products/{product_id}", "bank", dict(PRODUCT, name="科技贷二期"), product_id=product["id"])
    call("POST", "/api/v1/products/{product_id}/deactivate", "bank", product_id=product["id"])
    call("POST", "/api/v1/products/{product_id}/activate", "bank", product_id=product["id"])

    need_body = {"title": "扩产", "amount": "3000000.00", "term_months": 12, "purpose": "购置设备", "max_rate": "0.06",
                 "asset_ids": asset_ids[:1]}
    need = call("POST", "/api/v1/needs", "enterprise", need_body)
    call("PUT", "/api/v1/needs/{need_id}", "enterprise", dict(need_body, submit=True), need_id=need["id"])
    call("POST", "/api/v1/needs/{need_id}/review", "staff", {"approve": True, "checklist": all_ticks()},
         need_id=need["id"])
    call("POST", "/api/v1/needs/{need_id}/claims", "bank", {"product_id": product["id"]}, need_id=need["id"])
    call("POST", "/api/v1/needs/{need_id}/meeting", "bank", {"meeting_at": "2030-01-02T10:00:00+08:00"},
         need_id=need["id"])
    offer = call("POST", "/api/v1/needs/{need_id}/offers", "bank",
                 {"amount": "2800000", "annual_rate": "0.052", "term_months": 12}, need_id=need["id"])
    call("POST", "/api/v1/offers/{offer_id}/withdraw", "bank", offer_id=offer["id"])
    terms = {"amount": "2700000", "annual_rate": "0.05", "term_months": 12}
    declined = call("POST", "/api/v1/needs/{need_id}/offers", "bank2", terms, need_id=need["id"])
    call("POST", "/api/v1/offers/{offer_id}/decline", "enterprise", offer_id=declined["id"])
    accepted = call("POST", "/api/v1/needs/{need_id}/offers", "bank3", terms, need_id=need["id"])
    call("POST", "/api/v1/offers/{offer_id}/accept", "enterprise", offer_id=accepted["id"])
    other = call("POST", "/api/v1/needs", "enterprise", dict(need_body, asset_ids=asset_ids[1:]))
    call("POST", "/api/v1/needs/{need_id}/submit", "enterprise", need_id=other["id"])
    call("POST", "/api/v1/needs/{need_id}/withdraw", "enterprise", need_id=other["id"])

    report = call("POST", "/api/v1/valuations", "valuer", {
        "asset_id": asset_ids[0], "value_type": "market", "amount": "1234567.89", "valuation_date": "2026-11-20",
        "method": "market", "signer_name": "李签字", "signer_qualification": "CPV-77", "issue": False})
    call("POST", "/api/v1/valuations/{valuation_id}/issue", "valuer", valuation_id=report["id"])
    call("POST", "/api/v1/valuations/{valuation_id}/withdraw", "valuer", {"reason": "数据有误"},
         valuation_id=report["id"])

    call("POST", "/api/v1/assets", "enterprise", {
        "kind": "invention", "title": "一种锂电池正极材料及其制备方法", "application_number": "CN201710106452.1",
        "ipc_codes": ["H01M", "H01M4/36"], "filing_date": "2017-02-27", "grant_date": "2019-05-01",
        "legal_status": "granted"})

    search = call("POST", "/api/v1/saved-searches", "bank", {"name": "电池", "query": {"q": "电池"}})
    call("POST", "/api/v1/saved-searches/{saved_id}/seen", "bank", saved_id=search["id"])
    call("DELETE", "/api/v1/saved-searches/{saved_id}", "bank", saved_id=search["id"])
    writes = {f"{method.upper()} {path}" for path, ops in schema.raw_schema["paths"].items() if path.startswith(AREAS)
              for method in ops if method in ("post", "put", "delete", "patch")}
    writes.discard("POST /api/v1/offers/{offer_id}/loan")  # the loans area's (tests/loans)
    assert set(done) == writes
