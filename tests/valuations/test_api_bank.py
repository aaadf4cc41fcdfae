"""Valuations API beyond creating and listing (test_experts_web_api.py): documented report shapes, the accuracy table
and the report PDF a bank reads, and issuing and withdrawing for the agency."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.exchange.models import Listing, ListingSource, ListingStatus
from market.valuations import service
from market.valuations.models import Valuation, ValuationStatus
from tests.conftest import NOW
from tests.factories import PDF, make_asset, vinput


def fresh(session, valuation_id) -> Valuation:
    session.expire_all()
    return session.get(Valuation, valuation_id)


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def sold_lot(session, asset, price: str, at) -> Listing:
    listing = Listing(asset_id=asset.id, source=ListingSource.VOLUNTARY, title="已成交", valuation=Decimal("1000000"),
                      starting_price=Decimal("700000"), increment=Decimal("10000"), deposit_amount=Decimal("70000"),
                      notice_starts_at=at, bidding_starts_at=at, scheduled_ends_at=at, ends_at=at,
                      status=ListingStatus.SOLD, sale_price=Decimal(price), rules_version="test", created_at=at,
                      updated_at=at)
    session.add(listing)
    session.flush()
    return listing


def test_report_shape_as_documented(at_now, client, world, bearer, factory):
    report = world.issue(amount=Decimal("1234567.80"))
    r = client.get(f"/api/v1/valuations/{report.id}", headers=bearer(factory.user(Role.BANK)))
    assert r.status_code == 200
    body = r.json
    assert body["amount"] == "1234567.80" and body["status"] == "issued" and body["in_force"] is True
    assert body["valuation_date"] == (NOW.date() - timedelta(days=10)).isoformat()
    assert body["issued_at"] == NOW.isoformat() + "+00:00" and body["withdrawn_at"] is None
    assert body["signer"] == {"name": "王评估", "qualification": "CPV-0001"} and body["has_file"] is False


def test_bank_reads_valuer_accuracy(client, session, world, bearer, factory):
    asset2 = make_asset(session, world.enterprise.organisation_id)
    world.issue(at=NOW - timedelta(days=5))  # 1,000,000 vs 800,000 sold: 25 %
    world.issue(asset=asset2, at=NOW - timedelta(days=5), amount=Decimal("900000"))  # vs 1,000,000: 10 %
    sold_lot(session, world.asset, "800000", NOW)
    sold_lot(session, asset2, "1000000", NOW)
    r = client.get("/api/v1/valuations/accuracy", headers=bearer(factory.user(Role.BANK)))
    assert r.status_code == 200
    [row] = [x for x in r.json["items"] if x["valuer_id"] == world.valuer.id]
    assert row["sold_lots"] == 2 and row["mean_abs_error"] == "0.1750"
    assert row["agency_org_id"] == world.valuer.organisation_id and row["valuer"] == "王评估 · CPV-0001"  # the signer
    r = client.get("/api/v1/valuations/accuracy", headers=bearer(world.enterprise))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/valuations/accuracy").status_code == 401


def test_bank_downloads_the_report_pdf(client, session, world, bearer, factory, uploads):
    issued = service.create_valuation(session, world.valuer, vinput(world.asset), NOW, issue=True,
                                      report=service.ReportFile(PDF, "报告.pdf", uploads))
    draft = service.create_valuation(session, world.valuer, vinput(world.asset), NOW,
                                     report=service.ReportFile(PDF, "草稿.pdf", uploads))
    bare = world.issue()
    bank = bearer(factory.user(Role.BANK))
    with client.get(f"/api/v1/valuations/{issued.id}/file", headers=bank) as r:
        assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data == PDF
        assert r.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"/api/v1/valuations/{draft.id}/file", headers=bank).status_code == 404  # drafts are private
    with client.get(f"/api/v1/valuations/{draft.id}/file", headers=bearer(world.valuer)) as r:
        assert r.data == PDF
    r = client.get(f"/api/v1/valuations/{bare.id}/file", headers=bank)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/valuations/{issued.id}/file").status_code == 401
    assert client.get(f"/api/v1/valuations/{issued.id}", headers=bank).json["has_file"] is True


def test_agency_issues_a_draft(client, session, world, bearer, factory):
    draft = service.create_valuation(session, world.valuer, vinput(world.asset), NOW)
    other_agency = factory.user(Role.VALUER)
    count = audit_count(session)
    url = f"/api/v1/valuations/{draft.id}/issue"
    assert client.post(url, headers=bearer(other_agency)).status_code == 404
    assert client.post(url, headers=bearer(factory.user(Role.BANK))).status_code == 403
    assert client.post(url, headers=bearer(world.valuer, "read")).status_code == 403
    assert fresh(session, draft.id).status is ValuationStatus.DRAFT and audit_count(session) == count

    r = client.post(url, headers=bearer(world.valuer))
    assert r.status_code == 200, r.json
    assert r.json["status"] == "issued" and r.json["issued_at"].endswith("+00:00")
    assert fresh(session, draft.id).status is ValuationStatus.ISSUED
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "valuation.issued", AuditEntry.entity_id == str(draft.id))) == 1
    r = client.post(url, headers=bearer(world.valuer))
    assert r.status_code == 409 and "error" in r.json


def test_agency_withdraws_a_report(client, session, world, bearer, factory):
    report = world.issue()
    url = f"/api/v1/valuations/{report.id}/withdraw"
    count = audit_count(session)
    r = client.post(url, headers=bearer(world.valuer), json={})
    assert r.status_code == 422 and "reason" in r.json["error"]["details"]["json"]
    assert client.post(url, headers=bearer(world.valuer), json={"reason": ""}).status_code == 422
    assert client.post(url, headers=bearer(factory.user(Role.VALUER)), json={"reason": "错"}).status_code == 404
    assert client.post("/api/v1/valuations/99999999/withdraw", headers=bearer(world.valuer),
                       json={"reason": "错"}).status_code == 404
    assert fresh(session, report.id).status is ValuationStatus.ISSUED and audit_count(session) == count

    r = client.post(url, headers=bearer(world.valuer), json={"reason": "基准日数据有误"})
    assert r.status_code == 200
    assert r.json["status"] == "withdrawn" and r.json["withdrawal_reason"] == "基准日数据有误"
    assert r.json["in_force"] is False and r.json["withdrawn_at"].endswith("+00:00")
    assert fresh(session, report.id).status is ValuationStatus.WITHDRAWN
    assert audit_count(session) > count
