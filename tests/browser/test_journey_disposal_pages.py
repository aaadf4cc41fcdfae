"""Strings the disposal journey found untranslated, checked without a browser (so they run where Chromium is not
installed too): the compensation claim's status on the loan and claims pages, the fund ledger's entry kinds and
system memos, and the legal status in a lot's due-diligence pack. Chinese (the default UI) and English."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from market.exchange import listings
from market.exchange.models import ListingSource
from market.ip.models import PledgeState
from market.loans import claims, default
from tests.conftest import NOW, login
from tests.factories import CHECKED, LoanWorld

ZH = {"submitted": "待审批", "paid": "已支付", "kind": "风险补偿", "memo": "贷款 {loan} 的风险补偿",
      "opening": "市级财政科技专项资金首期注资", "granted": "已授权，有效"}
EN = {"submitted": "Awaiting approval", "paid": "Paid", "kind": "Risk compensation",
      "memo": "Compensation for loan {loan}", "opening": "First fund from the municipal science special fund",
      "granted": "Granted, in force"}


@pytest.fixture
def claimed(session, factory):
    """A defaulted loan (¥4,000,000, nothing repaid) whose claim was assembled with a ¥1,000,000 recovery."""
    world = LoanWorld(session, factory)
    loan = world.loan()
    default.declare_default(session, world.bank_user, loan.id, NOW, reason="逾期未还")
    claim = claims.assemble_claim(session, loan, Decimal("1000000"), NOW, actor=world.bank_user)
    session.commit()
    return world, loan, claim


@pytest.mark.parametrize("locale, text", [("zh_CN", ZH), ("en", EN)])
def test_claim_status_and_fund_ledger_are_translated(client, session, claimed, locale, text):
    world, loan, claim = claimed
    world.bank_user.locale = world.staff.locale = locale
    session.commit()
    login(client, world.bank_user)
    page = client.get(f"/loans/{loan.id}").get_data(as_text=True)
    assert text["submitted"] in page and ">submitted<" not in page and "submitted ·" not in page
    assert "¥1,000,000.00" in page  # the recovery is shown with the claim
    client.post("/logout")

    login(client, world.staff)
    page = client.get("/loans/claims").get_data(as_text=True)
    assert f"<td>{text['submitted']}</td>" in page
    claims.approve_claim(session, world.staff, claim.id, NOW + timedelta(hours=1))  # the fund pays it at once
    session.commit()
    page = client.get("/loans/claims").get_data(as_text=True)
    assert f"<td>{text['paid']}</td>" in page and "<td>paid</td>" not in page
    page = client.get("/loans/fund").get_data(as_text=True)
    assert text["kind"] in page and text["memo"].format(loan=loan.id) in page and text["opening"] in page
    assert "<td>compensation</td>" not in page and "<td>contribution</td>" not in page
    if locale == "zh_CN":
        assert "Compensation for loan" not in page and "First fund" not in page


@pytest.mark.parametrize("locale, text", [("zh_CN", ZH), ("en", EN)])
def test_due_diligence_shows_the_legal_status_translated(client, session, factory, locale, text):
    world = LoanWorld(session, factory)
    asset = world.asset(pledge_state=PledgeState.PLEDGED)
    notice = NOW + timedelta(days=1)
    listing = listings.create_listing(
        session, world.staff, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=Decimal("1000000"),
        starting_price=Decimal("700000"), increment=Decimal("10000"), deposit_amount=Decimal("70000"),
        notice_starts_at=notice, bidding_starts_at=notice + timedelta(days=30),
        ends_at=notice + timedelta(days=31), now=NOW)
    listings.submit_listing(session, world.staff, listing, NOW)
    listings.review_listing(session, world.staff, listing, CHECKED, True, NOW)
    session.commit()
    client.post("/language/" + locale, data={"next": "/"})
    page = client.get(f"/exchange/{listing.id}").get_data(as_text=True)
    section = page[page.index('data-test="due-diligence"'):]
    assert text["granted"] in section and "<dd>granted" not in section
