"""The regions' loan models (issue #15 §3): Shanghai's guarantee with counter-guarantee, Jiangsu's relationship
lending, Tianjin's combined pledge — recorded on a loan through the form and the API, refused when wrong, audited,
shown, and applied step by step in the claim breakdown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import OrgKind, Role
from market.audit.models import AuditEntry
from market.errors import InvalidInput
from market.ip.models import PledgeState
from market.loans import claims, default
from market.loans.models import CollateralItem, CompensationStatus, Loan
from market.policy.regional import LoanModel
from tests.conftest import NOW
from tests.factories import bearer, make_asset

D = Decimal
SIGNED = date(2016, 3, 1)


def _defaulted(world, **kw):
    loan = world.loan(signed_on=SIGNED, **kw)
    default.declare_default(world.session, world.bank_user, loan.id, NOW, reason="逾期未还")
    return loan


def _shanghai(world, counter=None):
    return {"loan_model": "shanghai", "counter_guarantor_org_id": (counter or world.enterprise).id,
            "counter_guarantee_security": "厂房抵押 渝(2016)第001号", "counter_guarantee_share": D("0.6")}


# ------------------------------------------------------------------------------------------------ claim breakdown


def test_shanghai_claim_counter_guarantor_repays_the_guarantor_and_the_bank_is_unchanged(world):
    loan = _defaulted(world, principal="10000000", guarantor_org_id=world.guarantor.id,
                      guarantee_coverage=D("0.5"), model=_shanghai(world))
    claim = claims.assemble_claim(world.session, loan, D("2000000"), NOW)
    b = claims.claim_breakdown(loan, claim.recovery, claim.outstanding_principal)
    assert b.loan_model is LoanModel.SHANGHAI
    assert (b.loss, b.collateral, b.guarantor, b.counter_guarantor) == (
        D("8000000.00"), D("0.00"), D("4000000.00"), D("2400000.00"))  # 50 % of 8M; 60 % of it repaid
    assert (b.bank_loss, b.compensation) == (D("4000000.00"), D("1200000.00"))
    assert (claim.guarantor_share, claim.counter_guarantor_share, claim.compensation) == (
        D("4000000.00"), D("2400000.00"), D("1200000.00"))
    assert claim.status is CompensationStatus.SUBMITTED
    checks = {c.code: c for c in claims.claim_checklist(world.session, claim)}
    assert checks["amounts"].ok and checks["model"].ok and "60%" in checks["model"].message % checks["model"].params


def test_jiangsu_claim_with_a_valid_recommendation_compensates_the_whole_bank_loss(world):
    loan = _defaulted(world, principal="4000000", model={"loan_model": "jiangsu", "recommended_by": "南京市知识产权局",
                                                          "recommended_on": date(2016, 1, 10)})
    claim = claims.assemble_claim(world.session, loan, D("0"), NOW)
    assert (claim.guarantor_share, claim.bank_loss, claim.compensation) == (
        D("0.00"), D("4000000.00"), D("1200000.00"))
    checks = {c.code: c for c in claims.claim_checklist(world.session, claim)}
    assert checks["model"].ok and "南京市知识产权局" in checks["model"].localized()


@pytest.mark.parametrize("recommended_on, code", [(date(2014, 12, 1), "recommendation_expired"),
                                                  (date(2016, 5, 1), "recommended_after_signing")])
def test_jiangsu_claim_without_a_valid_recommendation_is_not_covered(world, recommended_on, code):
    loan = _defaulted(world, principal="4000000", model={"loan_model": "jiangsu", "recommended_by": "南京市科技局",
                                                          "recommended_on": recommended_on})
    assert loan.rate_within_cap  # the rate is fine: the recommendation alone decides
    claim = claims.assemble_claim(world.session, loan, D("0"), NOW)
    assert claim.compensation == 0 and claim.status is CompensationStatus.NOT_COVERED
    assert recommended_on.isoformat() in claim.reason % claim.reason_params
    b = claims.claim_breakdown(loan, D("0"), claim.outstanding_principal)
    assert b.bank_loss == D("4000000.00") and b.compensation == 0


def test_tianjin_claim_deducts_the_tangible_collateral_first(world):
    items = [{"kind": "real_estate", "description": "厂房 渝北区", "valuation": D("1500000")},
             {"kind": "equipment", "description": "数控机床 3 台", "valuation": D("500000")}]
    loan = _defaulted(world, principal="5000000", guarantor_org_id=world.guarantor.id, guarantee_coverage=D("0.5"),
                      model={"loan_model": "tianjin", "collateral": items})
    assert [(i.kind.value, i.valuation) for i in loan.collateral] == [("real_estate", D("1500000.00")),
                                                                       ("equipment", D("500000.00"))]
    claim = claims.assemble_claim(world.session, loan, D("1000000"), NOW)
    b = claims.claim_breakdown(loan, claim.recovery, claim.outstanding_principal)
    assert (b.loss, b.collateral, b.shared_loss, b.guarantor, b.bank_loss) == (
        D("4000000.00"), D("2000000.00"), D("2000000.00"), D("1000000.00"), D("1000000.00"))
    assert claim.collateral_share == D("2000000.00") and claim.compensation == D("300000.00")


def test_chongqing_loans_keep_their_breakdown(world):
    loan = _defaulted(world, principal="4000000")
    assert loan.loan_model is LoanModel.CHONGQING and loan.collateral == []
    claim = claims.assemble_claim(world.session, loan, D("0"), NOW)
    assert (claim.collateral_share, claim.counter_guarantor_share, claim.compensation) == (
        D("0.00"), D("0.00"), D("1200000.00"))


def test_claim_page_shows_each_models_steps(app, client, session, world, login_as):
    loan = _defaulted(world, principal="10000000", guarantor_org_id=world.guarantor.id,
                      guarantee_coverage=D("0.5"), model=_shanghai(world))
    claim = claims.assemble_claim(session, loan, D("2000000"), NOW)
    session.flush()
    login_as(Role.STAFF, locale="en")
    page = client.get(f"/loans/claims/{claim.id}").get_data(as_text=True)
    assert 'data-step="counter_guarantor"' in page and "2,400,000.00" in page
    assert "Shanghai" in page


# ------------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize("model, extra, needle", [
    ({"loan_model": "jiangsu", "recommended_by": "南京市", "recommended_on": date(2016, 1, 1)},
     {"guarantee_coverage": D("0.3")}, "guarantor"),
    ({"loan_model": "shanghai", "counter_guarantee_share": D("0.5"), "counter_guarantee_security": "房产"},
     {"guarantee_coverage": D("0.3")}, "counter-guarantor"),
    ({"loan_model": "shanghai", "counter_guarantee_share": D("1.5")}, {"guarantee_coverage": D("0.3")}, "share"),
    ({"loan_model": "jiangsu"}, {}, "recommended"),
    ({"loan_model": "jiangsu", "recommended_by": "南京市", "recommended_on": date(2030, 1, 1)}, {}, "future"),
    ({"loan_model": "tianjin"}, {}, "tangible"),
    ({"loan_model": "tianjin", "collateral": [{"kind": "vehicle", "description": "车", "valuation": "1e9"}]}, {},
     "valuation"),
    ({"loan_model": "tianjin", "collateral": [{"kind": "ship", "description": "船", "valuation": "100"}]}, {},
     "kind"),
    ({"loan_model": "chongqing", "recommended_by": "南京市"}, {}, "Jiangsu"),
    ({"loan_model": "chongqing", "collateral": [{"kind": "vehicle", "description": "车", "valuation": "100"}]}, {},
     "Tianjin"),
    ({"loan_model": "beijing"}, {}, "model"),
], ids=["jiangsu-guarantee", "shanghai-no-counter", "shanghai-share", "jiangsu-no-rec", "jiangsu-future",
        "tianjin-empty", "tianjin-bad-value", "tianjin-kind", "cq-rec", "cq-collateral", "unknown"])
def test_wrong_model_terms_are_refused_and_nothing_is_written(world, model, extra, needle):
    before = world.session.scalar(select(func.count()).select_from(Loan))
    if extra.get("guarantee_coverage"):
        extra = {**extra, "guarantor_org_id": world.guarantor.id}
    with pytest.raises(InvalidInput) as refused:
        world.loan(model=model, **extra)
    assert needle.lower() in (refused.value.message % refused.value.params).lower()
    assert world.session.scalar(select(func.count()).select_from(Loan)) == before


# ------------------------------------------------------------------------------------------------ form, page, API


def _form(enterprise, asset, **extra) -> dict:
    return {"enterprise_org_id": enterprise.id, "asset_ids": str(asset.id), "principal": "5000000",
            "annual_rate": "5", "term_months": "12", "repayment_method": "equal_principal",
            "signed_on": "2026-11-01", "registration_number": "X2026500000001", "guarantor_org_id": "0",
            "insurer_org_id": "0", "counter_guarantor_org_id": "0", **extra}


def test_the_loan_form_records_each_model_and_the_loan_page_shows_it(app, client, session, factory, login_as):
    bank = login_as(Role.BANK, locale="en")
    enterprise, guarantor = factory.org(OrgKind.ENTERPRISE), factory.org(OrgKind.GUARANTOR)
    cases = {
        "shanghai": {"loan_model": "shanghai", "guarantor_org_id": str(guarantor.id), "guarantee_coverage": "50",
                     "counter_guarantor_org_id": str(enterprise.id), "counter_guarantee_security": "厂房抵押",
                     "counter_guarantee_share": "60"},
        "jiangsu": {"loan_model": "jiangsu", "recommended_by": "南京市知识产权局", "recommended_on": "2026-10-01"},
        "tianjin": {"loan_model": "tianjin", "collateral-0-kind": "real_estate",
                    "collateral-0-description": "厂房 渝北区", "collateral-0-valuation": "1,500,000",
                    "collateral-1-kind": "equipment", "collateral-1-description": "机床",
                    "collateral-1-valuation": "500000.50"},
    }
    for name, extra in cases.items():
        asset = make_asset(session, enterprise)
        response = client.post("/loans/new", data=_form(enterprise, asset, **extra))
        assert response.status_code == 302, [line for line in response.get_data(as_text=True).splitlines()
                                             if "alert" in line]
        loan = session.scalars(select(Loan).where(Loan.bank_org_id == bank.organisation_id)
                               .order_by(Loan.id.desc())).first()
        assert loan.loan_model.value == name
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "loan.model_recorded",
                                                        AuditEntry.entity_id == str(loan.id)))
        assert entry is not None and entry.after["loan_model"] == name
        page = client.get(f"/loans/{loan.id}").get_data(as_text=True)
        assert 'data-test="loan-model"' in page
        if name == "shanghai":
            assert loan.counter_guarantor_org_id == enterprise.id and loan.counter_guarantee_share == D("0.6")
            assert "厂房抵押" in page and "60" in page
        elif name == "jiangsu":
            assert (loan.recommended_by, loan.recommended_on) == ("南京市知识产权局", date(2026, 10, 1))
            assert "南京市知识产权局" in page
        else:
            assert [i.valuation for i in loan.collateral] == [D("1500000.00"), D("500000.50")]
            assert entry.after["collateral"][1]["valuation"] in ("500000.50", 500000.5, "500000.5")
            assert "厂房 渝北区" in page and "2,000,000.50" in page


def test_the_loan_form_refuses_wrong_terms_in_chinese_and_keeps_nothing(app, client, session, factory, login_as):
    login_as(Role.BANK)
    enterprise, guarantor = factory.org(OrgKind.ENTERPRISE), factory.org(OrgKind.GUARANTOR)
    asset = make_asset(session, enterprise)
    before = session.scalar(select(func.count()).select_from(Loan))
    bad = {"loan_model": "jiangsu", "recommended_by": "南京市", "recommended_on": "2026-10-01",
           "guarantor_org_id": str(guarantor.id), "guarantee_coverage": "30"}
    page = client.post("/loans/new", data=_form(enterprise, asset, **bad)).get_data(as_text=True)
    assert "请勿填写担保机构" in page
    page = client.post("/loans/new", data=_form(enterprise, asset, loan_model="tianjin",
                                                 **{"collateral-0-kind": "vehicle",
                                                    "collateral-0-description": "车",
                                                    "collateral-0-valuation": "Infinity"})).get_data(as_text=True)
    assert "请输入普通数字" in page
    assert session.scalar(select(func.count()).select_from(Loan)) == before
    assert session.scalar(select(func.count()).select_from(CollateralItem)) == 0
    assert asset.pledge_state is PledgeState.FREE


def test_the_api_records_a_model_and_shows_it(app, client, session, world):
    headers = bearer(session, world.bank_user)
    asset = world.asset()
    body = {"enterprise_org_id": world.enterprise.id, "asset_ids": [asset.id], "principal": "5000000",
            "annual_rate": "0.05", "term_months": 12, "signed_on": "2026-11-01", "registration_number": "X1",
            "loan_model": "tianjin",
            "collateral": [{"kind": "real_estate", "description": "厂房", "valuation": "1500000.00"}]}
    response = client.post("/api/v1/loans", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["loan_model"] == "tianjin"
    assert data["collateral"] == [{"kind": "real_estate", "description": "厂房", "valuation": "1500000.00"}]
    assert data["shares_on_total_loss"]["collateral"] == "1500000.00"
    loan_id = data["id"]
    got = client.get(f"/api/v1/loans/{loan_id}", headers=headers).get_json()
    assert got["loan_model"] == "tianjin" and got["compensation_eligible"] is True


@pytest.mark.parametrize("extra, field", [
    ({"loan_model": "tianjin", "collateral": [{"kind": "vehicle", "description": "车", "valuation": 1e309}]},
     "collateral"),
    ({"loan_model": "shanghai", "counter_guarantee_share": "2"}, "counter_guarantee_share"),
    ({"loan_model": "hubei"}, "loan_model"),
    ({"loan_model": "jiangsu", "recommended_by": "南京市", "recommended_on": "2016-01-01",
      "guarantee_coverage": "0.3"}, None),
])
def test_the_api_refuses_wrong_model_terms_with_422(app, client, session, world, extra, field):
    headers = bearer(session, world.bank_user)
    before = session.scalar(select(func.count()).select_from(Loan))
    body = {"enterprise_org_id": world.enterprise.id, "asset_ids": [world.asset().id], "principal": "5000000",
            "annual_rate": "0.05", "term_months": 12, "signed_on": "2026-11-01", "registration_number": "X1",
            "guarantor_org_id": world.guarantor.id, **extra}
    response = client.post("/api/v1/loans", json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    if field:
        assert field in error["details"]["json"], error
    assert session.scalar(select(func.count()).select_from(Loan)) == before
