"""How a defaulted loan ends once its compensation claim is final: `closed` when the recovery covered the outstanding
principal, `written_off` when a loss is left (after the fund paid, after staff rejected, or at once when nothing is
covered); audited; the loan page explains it in both languages; the statistics count the default and the recovery
as before. Plus the loans clock (`market tick --only loans`) run through Flask's CLI runner without an app context
pushed by the test."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from market.accounts.models import OrgKind, Role
from market.audit.models import AuditEntry
from market.loans import claims, default, fund, repayments, schedule, watch
from market.loans.models import CompensationStatus, Loan, LoanStatus
from market.stats import figures
from tests.conftest import NOW, Factory, login

D = Decimal
LATER = NOW + timedelta(days=3)


def _defaulted(world, **kw) -> Loan:
    loan = world.loan(**kw)
    default.declare_default(world.session, world.bank_user, loan.id, NOW, reason="逾期未还")
    return loan


def _audit(session, loan: Loan) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "loan",
                                                         AuditEntry.entity_id == str(loan.id))
                                .order_by(AuditEntry.id)))


def test_full_recovery_closes_the_loan_at_once(world):
    loan = _defaulted(world, principal="4000000")
    default.start_disposal(world.session, world.staff, loan.id, NOW)
    claim = claims.record_recovery(world.session, world.staff, loan.id, D("4200000"), LATER, evidence="处置回收凭证")
    assert claim.status is CompensationStatus.NOT_COVERED and claim.loss == 0
    assert loan.status is LoanStatus.CLOSED and loan.closed_at == LATER
    entry = _audit(world.session, loan)[-1]
    assert entry.action == "loan.closed" and entry.actor_id == world.staff.id
    assert entry.before["status"] == "in_disposal" and entry.after["status"] == "closed"
    assert entry.note.startswith(f"claim {claim.id} (not_covered):") and "loss 0.00" in entry.note
    assert schedule.amount_overdue(loan, date(2017, 6, 1)) == 0  # nothing is overdue on an ended loan
    assert schedule.outstanding_principal(loan) == D("4000000.00")  # the figure at default stays for the records


def test_paid_compensation_writes_the_loss_off(world):
    loan = _defaulted(world, principal="4000000")
    claim = claims.record_recovery(world.session, world.bank_user, loan.id, D("1000000"), NOW, evidence="处置回收凭证")
    assert claim.status is CompensationStatus.SUBMITTED
    assert loan.status is LoanStatus.DEFAULTED and loan.closed_at is None  # waits for staff
    claims.verify_recovery(world.session, world.staff, claim.id, LATER)
    claims.approve_claim(world.session, world.staff, claim.id, LATER)
    assert claim.status is CompensationStatus.PAID and claim.compensation == D("900000.00")
    assert loan.status is LoanStatus.WRITTEN_OFF and loan.closed_at == LATER
    entry = _audit(world.session, loan)[-1]
    assert entry.action == "loan.written_off" and entry.actor_id is None  # the fund's payment ends it
    assert (entry.before["status"], entry.after["status"]) == ("defaulted", "written_off")
    assert f"claim {claim.id} (paid):" in entry.note and "loss 3000000.00" in entry.note


def test_an_approved_claim_waiting_for_the_fund_keeps_the_loan_open_until_paid(world):
    s = world.session
    drain = world.loan(principal="2500000000", guarantor_org_id=world.guarantor.id, guarantee_coverage=D("0.5"),
                       guarantee_premium=D("25000000"))
    fund.pay_subsidy(s, world.staff, drain.id, NOW)  # 1 % of the loan: the whole ¥25,000,000 fund
    assert fund.fund_balance(s) == 0
    loan = _defaulted(world, principal="4000000")
    claim = claims.record_recovery(s, world.bank_user, loan.id, D("0"), NOW, evidence="处置回收凭证")
    claims.verify_recovery(s, world.staff, claim.id, NOW)
    claims.approve_claim(s, world.staff, claim.id, NOW)
    assert claim.status is CompensationStatus.APPROVED and loan.status is LoanStatus.DEFAULTED
    fund.contribute(s, world.staff, D("1200000"), LATER)
    s.refresh(claim)
    assert claim.status is CompensationStatus.PAID and loan.status is LoanStatus.WRITTEN_OFF
    assert loan.closed_at == LATER


def test_rejected_claim_writes_the_loss_off_without_compensation(world):
    loan = _defaulted(world, principal="4000000")
    claim = claims.record_recovery(world.session, world.bank_user, loan.id, D("500000"), NOW, evidence="处置回收凭证")
    claims.reject_claim(world.session, world.staff, claim.id, LATER, reason="材料不全")
    assert loan.status is LoanStatus.WRITTEN_OFF and loan.closed_at == LATER
    entry = _audit(world.session, loan)[-1]
    assert entry.action == "loan.written_off" and entry.actor_id == world.staff.id
    assert f"claim {claim.id} (rejected):" in entry.note


@pytest.mark.parametrize("kw", [
    {"rate": str(D("0.0435") * D("1.6"))},  # above the cap: nothing covered
    {"guarantee_coverage": D("0.6"), "insurance_coverage": D("0.4")},  # guarantor and insurer carry all of it
])
def test_a_loss_nothing_covers_is_written_off_at_once(world, kw):
    if "guarantee_coverage" in kw:
        kw = {**kw, "guarantor_org_id": world.guarantor.id, "insurer_org_id": world.insurer.id}
    loan = _defaulted(world, principal="4000000", **kw)
    claim = claims.record_recovery(world.session, world.bank_user, loan.id, D("1000000"), NOW, evidence="处置回收凭证")
    assert claim.status is CompensationStatus.NOT_COVERED and claim.loss == D("3000000.00")
    assert loan.status is LoanStatus.WRITTEN_OFF and loan.closed_at == NOW


def test_an_ended_loan_takes_no_second_claim_nor_repayment(world):
    from market.errors import Conflict

    loan = _defaulted(world, principal="4000000")
    claims.record_recovery(world.session, world.bank_user, loan.id, D("4000000"), NOW, evidence="处置回收凭证")
    assert loan.status is LoanStatus.CLOSED
    with pytest.raises(Conflict):
        claims.record_recovery(world.session, world.bank_user, loan.id, D("1"), NOW, evidence="处置回收凭证")
    with pytest.raises(Conflict):
        repayments.record_repayment(world.session, world.bank_user, loan.id, paid_on=date(2016, 6, 1),
                                    principal=D("1"), interest=0, now=NOW)
    assert watch.tick(world.session, date(2017, 6, 1), NOW) == {"overdue": 0, "cured": 0, "flags": 0}
    assert loan.status is LoanStatus.CLOSED


def test_statistics_count_the_default_and_the_recovery_the_same_after_the_loan_ends(world):
    s = world.session
    performing = world.loan(principal="1000000")
    written_off = _defaulted(world, principal="4000000")
    closed = _defaulted(world, principal="2000000")
    w_claim = claims.record_recovery(s, world.bank_user, written_off.id, D("1000000"), NOW, evidence="处置回收凭证")
    before = (figures.defaulted_loans(s), figures.recoveries(s), figures.recovery_rate(s), figures.default_rate(s))
    claims.verify_recovery(s, world.staff, w_claim.id, LATER)
    claims.approve_claim(s, world.staff, w_claim.id, LATER)
    claims.record_recovery(s, world.bank_user, closed.id, D("2000000"), LATER, evidence="处置回收凭证")
    assert (written_off.status, closed.status, performing.status) == (
        LoanStatus.WRITTEN_OFF, LoanStatus.CLOSED, LoanStatus.ACTIVE)
    after = figures.recoveries(s)
    assert figures.defaulted_loans(s) == before[0]  # both ended loans still count as defaults
    assert figures.default_rate(s) == before[3]
    by_loan = {r.loan_id: r for r in after}
    assert by_loan[written_off.id] == {r.loan_id: r for r in before[1]}[written_off.id]
    assert (by_loan[closed.id].outstanding, by_loan[closed.id].proceeds, by_loan[closed.id].source) == (
        D("2000000.00"), D("2000000.00"), "claim")
    # recovered / outstanding at default over both loans: (1,000,000 + 2,000,000) / 6,000,000
    assert before[2] == D("0.2500") and figures.recovery_rate(s) == D("0.5000")


@pytest.mark.parametrize("locale, texts", [
    ("en", ["Written off", "End of the loan", "Written off on", "Outstanding principal at default",
            "Principal loss written off", "¥3,000,000.00", "Compensation paid by the fund", "¥900,000.00",
            "Loss left with the bank", "¥2,100,000.00"]),
    ("zh_CN", ["已核销", "贷款终结", "核销：", "违约时未偿本金", "核销的本金损失", "¥3,000,000.00",
               "风险补偿基金已付补偿", "¥900,000.00", "银行最终承担的损失", "¥2,100,000.00"]),
])
def test_loan_page_shows_the_end_in_both_languages(world, client, locale, texts):
    loan = _defaulted(world, principal="4000000")
    claim = claims.record_recovery(world.session, world.bank_user, loan.id, D("1000000"), NOW, evidence="处置回收凭证")
    claims.verify_recovery(world.session, world.staff, claim.id, LATER)
    claims.approve_claim(world.session, world.staff, claim.id, LATER)
    world.bank_user.locale = locale
    world.session.commit()
    login(client, world.bank_user)
    html = client.get(f"/loans/{loan.id}").get_data(as_text=True)
    for text in texts:
        assert text in html, text
    # Consistent figures: outstanding at default (header) = recovered + loss written off; nothing overdue.
    assert html.count("¥4,000,000.00") >= 3  # principal, outstanding at default, and again in the closure table
    assert "¥1,000,000.00" in html
    assert "Declare default" not in html and "宣布违约" not in html
    listing = client.get("/loans/").get_data(as_text=True)
    assert texts[0] in listing and "written_off" not in listing


def test_loan_page_of_a_closed_loan(world, client):
    loan = _defaulted(world, principal="2000000")
    claims.record_recovery(world.session, world.bank_user, loan.id, D("2000000"), LATER, evidence="处置回收凭证")
    world.bank_user.locale = "en"
    world.session.commit()
    login(client, world.bank_user)
    html = client.get(f"/loans/{loan.id}").get_data(as_text=True)
    assert "Settled and closed" in html and "the recovery covered the outstanding principal" in html
    assert "Recovered from the disposal" in html and "Principal loss written off" not in html


# ------------------------------------------------------------------------------------------------ the loans clock

PG_URL_2 = os.environ.get("MARKET_TEST_POSTGRESQL_URL_2")


@pytest.mark.parametrize("database", ["sqlite"] + (["postgresql"] if PG_URL_2 else []))
def test_the_loans_clock_runs_from_the_cli_runner(make_app, database):
    from market.db import db
    from tests.factories import confirmed_loan, make_asset

    app = make_app(**({"url": PG_URL_2} if database == "postgresql" else {}))
    with app.app_context():
        factory = Factory(db.session)
        bank = factory.user(Role.BANK)
        enterprise = factory.org(OrgKind.ENTERPRISE)
        asset = make_asset(db.session, enterprise)
        loan = confirmed_loan(db.session, bank, enterprise, principal=D("1200000"),
                              annual_rate=D("0.05"), term_months=12, asset_ids=[asset.id], signed_on=date(2016, 3, 1),
                              now=NOW, registration_number="X2016500000999")
        db.session.commit()
        loan_id = loan.id
    runner = app.test_cli_runner()  # no app context pushed here: the command must push its own
    with time_machine.travel(datetime(2016, 4, 1, 12, tzinfo=UTC), tick=False):
        quiet = runner.invoke(args=["tick", "--only", "loans"])
    assert quiet.exit_code == 0, quiet.output + repr(quiet.exception)
    assert "overdue: 0" in quiet.output and "claims_paid: 0" in quiet.output
    with time_machine.travel(datetime(2016, 4, 2, 12, tzinfo=UTC), tick=False):
        late = runner.invoke(args=["tick", "--only", "loans"])
    assert late.exit_code == 0, late.output + repr(late.exception)
    assert "overdue: 1" in late.output
    with time_machine.travel(datetime(2016, 4, 2, 13, tzinfo=UTC), tick=False):
        again = runner.invoke(args=["tick", "--only", "loans"])
    assert again.exit_code == 0 and "overdue: 0" in again.output  # idempotent
    with app.app_context():
        assert db.session.get(Loan, loan_id).status is LoanStatus.OVERDUE


def test_the_bank_cannot_type_a_recovery_while_the_exchange_sells_the_pledges(world):
    """In disposal the exchange assembles the claim from the sale price; a bank's own figure meanwhile is refused
    and writes nothing (staff may still record one, e.g. a settlement outside the exchange)."""
    from market.errors import Conflict
    from market.loans.models import CompensationClaim

    loan = _defaulted(world, principal="4000000")
    default.start_disposal(world.session, world.staff, loan.id, NOW)
    with pytest.raises(Conflict):
        claims.record_recovery(world.session, world.bank_user, loan.id, D("1000000"), LATER, evidence="处置回收凭证")
    assert world.session.scalar(select(CompensationClaim.id).where(CompensationClaim.loan_id == loan.id)) is None
    assert loan.status is LoanStatus.IN_DISPOSAL
    claim = claims.record_recovery(world.session, world.staff, loan.id, D("1000000"), LATER, evidence="处置回收凭证")
    assert claim.recovery == D("1000000.00")
