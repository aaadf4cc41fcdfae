"""Success bodies of the loans and exchange-desk API against the served OpenAPI document (schemathesis' checks), on
rows that exist: the shared schemathesis run mostly meets random ids (404), so here every GET operation of the two
areas, and the main state changes, answer 2xx on seeded data and must match what the document says."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import schemathesis

from market.accounts.models import OrgKind, Role
from tests.api.test_schemathesis import bearer_for
from tests.conftest import DATABASES, NOW, PG_URL

CHECKED_OUT = [schemathesis.checks.positive_data_acceptance]


def seed(session):
    """A bank's loan with a repayment, a defaulted loan with a claim, a defaulted loan waiting to be listed, a listed
    and announced lot with an objection, a live lot with a bidder's deposit."""
    from market.db import utcnow
    from market.exchange import deposits, disposal, listings
    from market.loans import claims, default, repayments
    from tests.conftest import Factory
    from tests.factories import CHECKED, build_lot, confirmed_loan, make_asset

    f = Factory(session)
    bank, staff, bidder = f.user(Role.BANK), f.user(Role.STAFF), f.user(Role.BIDDER)
    ent = f.org(OrgKind.ENTERPRISE)
    guarantor = f.org(OrgKind.GUARANTOR)
    now = utcnow()

    def loan(n_assets=1, **kw):
        return confirmed_loan(session, bank, ent, principal=Decimal("4000000"), annual_rate=Decimal("0.05"),
                              term_months=12, signed_on=date(2016, 3, 1), now=NOW,
                              asset_ids=[make_asset(session, ent).id for _ in range(n_assets)],
                              registration_number="X1", **kw)

    running = loan(guarantor_org_id=guarantor.id, guarantee_coverage=Decimal("0.3"),
                   guarantee_premium=Decimal("30000"))
    repayments.record_repayment(session, bank, running.id, paid_on=date(2016, 4, 1), principal=Decimal("333333.33"),
                                interest=Decimal("16666.67"), now=NOW)
    claimed = loan()
    default.declare_default(session, bank, claimed.id, NOW, reason="逾期未还")
    claim = claims.record_recovery(session, bank, claimed.id, Decimal("100000"), NOW, evidence="处置回收凭证")
    claims.verify_recovery(session, staff, claim.id, NOW)
    waiting = loan(n_assets=2)
    default.declare_default(session, bank, waiting.id, NOW, reason="逾期未还")
    listed = loan()
    default.declare_default(session, bank, listed.id, NOW, reason="逾期未还")
    lot = disposal.list_loan_for_disposal(session, staff, listed.id, now,
                                          {listed.pledges[0].asset_id: Decimal("1000000")})[0]
    listings.review_listing(session, staff, lot, CHECKED, True, now)
    objection = disposal.file_objection(session, bidder, lot, "We hold an exclusive licence.", now)
    live, _who = build_lot(session, f, start=now.replace(microsecond=0) - timedelta(hours=1), hours=25)
    session.commit()
    deposits.pay_deposit(session, bidder, live.id, now)
    session.commit()
    return {"bank": bank, "staff": staff, "bidder": bidder, "ids": {
        "loan_id": running.id, "listed_loan_id": listed.id, "claimed_loan_id": claimed.id, "claim_id": claim.id,
        "waiting_loan_id": waiting.id,
        "listing_id": lot.id, "live_id": live.id, "objection_id": objection.id,
        "waiting_assets": [p.asset_id for p in waiting.pledges]}}


def call(schema, path, method, headers, expect, **case):
    operation = schema[path][method]
    made = operation.Case(**case)
    response = made.call(headers=headers)
    assert response.status_code == expect, (method, path, response.status_code, response.text[:500])
    made.validate_response(response, headers=headers, excluded_checks=CHECKED_OUT)
    return response.json()


@pytest.mark.parametrize("database", DATABASES)
def test_success_bodies_match_the_document(make_app, database):
    from market.db import db

    app = make_app(url=PG_URL) if database == "postgresql" else make_app()
    with app.app_context():
        world = seed(db.session)
        ids = world["ids"]
        bank = bearer_for(db.session, world["bank"])
        staff = bearer_for(db.session, world["staff"])
        bidder = bearer_for(db.session, world["bidder"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    loan = {"loan_id": ids["loan_id"]}

    # loans: reads
    assert call(schema, "/api/v1/plans/evaluate", "POST", {}, 200, body={
        "loan_amount": "4000000", "annual_rate": "0.05", "benchmark_rate": "0.0435", "term_months": 12})["eligible"]
    assert len(call(schema, "/api/v1/loans", "GET", bank, 200)["items"]) == 4
    assert call(schema, "/api/v1/loans/{loan_id}", "GET", bank, 200, path_parameters=loan)["id"] == ids["loan_id"]
    sched = call(schema, "/api/v1/loans/{loan_id}/schedule", "GET", bank, 200, path_parameters=loan,
                 query={"as_of": "2016-06-15"})
    assert [x["overdue"] for x in sched["items"][:4]] == [False, True, True, False]
    assert call(schema, "/api/v1/loans/{loan_id}/repayments", "GET", staff, 200, path_parameters=loan)["items"]
    assert call(schema, "/api/v1/claims", "GET", bank, 200)["items"]
    claim = call(schema, "/api/v1/claims/{claim_id}", "GET", bank, 200, path_parameters={"claim_id": ids["claim_id"]})
    assert claim["reason"] is None and claim["approved_at"] is None
    assert call(schema, "/api/v1/fund", "GET", staff, 200)["accounts"]
    call(schema, "/api/v1/fund", "GET", bank, 200)
    assert call(schema, "/api/v1/fund/transactions", "GET", staff, 200)["items"]
    # loans: changes
    call(schema, "/api/v1/loans/{loan_id}/repayments", "POST", bank, 201, path_parameters=loan,
         body={"paid_on": "2016-05-01", "principal": "333333.33", "interest": "15277.78"})
    call(schema, "/api/v1/loans/{loan_id}/subsidy", "POST", staff, 201, path_parameters=loan)
    call(schema, "/api/v1/fund/contributions", "POST", staff, 201, body={"amount": "1000.00"})
    assert call(schema, "/api/v1/claims/{claim_id}/approve", "POST", staff, 200,
                path_parameters={"claim_id": ids["claim_id"]})["status"] == "paid"

    # exchange desk
    waiting = call(schema, "/api/v1/disposal/loans", "GET", staff, 200)["items"]
    assert ids["waiting_loan_id"] in [x["loan_id"] for x in waiting]
    assert ids["listed_loan_id"] not in [x["loan_id"] for x in waiting]
    made = call(schema, "/api/v1/disposal/loans/{loan_id}/listings", "POST", bank, 201,
                path_parameters={"loan_id": ids["waiting_loan_id"]},
                body={"valuations": [{"asset_id": a, "amount": "500000"} for a in ids["waiting_assets"]]})
    assert len(made["items"]) == 2
    assert call(schema, "/api/v1/disposal/listings", "GET", staff, 200)["total"] >= 4
    desk = call(schema, "/api/v1/disposal/listings/{listing_id}", "GET", staff, 200,
                path_parameters={"listing_id": ids["listing_id"]})
    assert desk["objections"][0]["id"] == ids["objection_id"]
    call(schema, "/api/v1/disposal/listings/{listing_id}/review", "POST", staff, 200,
         path_parameters={"listing_id": made["items"][0]["id"]}, body={"checklist": {}, "decision": "return"})
    assert call(schema, "/api/v1/disposal/objections", "GET", staff, 200)["items"]
    call(schema, "/api/v1/disposal/objections/{objection_id}/resolve", "POST", staff, 200,
         path_parameters={"objection_id": ids["objection_id"]}, body={"decision": "dismiss"})
    call(schema, "/api/v1/disposal/listings/{listing_id}/cancel", "POST", staff, 200,
         path_parameters={"listing_id": made["items"][1]["id"]}, body={})
    mine = call(schema, "/api/v1/deposits", "GET", bidder, 200)
    assert [d["listing_id"] for d in mine["deposits"]] == [ids["live_id"]]
    call(schema, "/api/v1/listings/{listing_id}/objections", "POST", bidder, 409,
         path_parameters={"listing_id": ids["live_id"]}, body={"reason": "Bidding has started already."})


MY_PATHS = ("/api/v1/plans", "/api/v1/loans", "/api/v1/offers/{offer_id}/loan", "/api/v1/claims", "/api/v1/fund",
            "/api/v1/rates", "/api/v1/policies", "/api/v1/disposal", "/api/v1/deposits", "/api/v1/auctions",
            "/api/v1/listings")


@pytest.mark.parametrize("database", DATABASES)
def test_staff_and_bank_tokens_find_no_5xx_in_loans_and_exchange(make_app, database):
    """The shared schemathesis run uses a bank's token on an empty database, so staff-only operations answer 403
    there; here the loans and exchange operations are generated with a staff and a bank token on seeded data. (A
    longer run of this kind found a top-up overflowing the fund's balance column and ids beyond an INTEGER column
    answering 500 on PostgreSQL; their own tests are in test_api_claims_schedule.py and test_api_desk.py.)"""
    from market.db import db
    from tests.api.test_schemathesis import run_operation

    app = make_app(url=PG_URL) if database == "postgresql" else make_app()
    with app.app_context():
        world = seed(db.session)
        tokens = {"staff": bearer_for(db.session, world["staff"]), "bank": bearer_for(db.session, world["bank"])}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(MY_PATHS)]
    assert len(operations) >= 40
    problems = {}
    for operation in operations:
        for role, headers in tokens.items():
            statuses: list[int] = []
            failure = run_operation(operation, headers, statuses)
            if failure:
                problems[f"{role}: {operation.method.upper()} {operation.path}"] = failure
    assert not problems, "\n\n".join(f"{k}\n{v}" for k, v in problems.items())
