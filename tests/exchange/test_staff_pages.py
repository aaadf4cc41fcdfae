"""The staff desk over HTTP: list a defaulted loan, review with the checklist, objection decided, results page."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import select

from market.accounts.models import Role
from market.exchange.models import Listing, ListingStatus
from tests.conftest import login
from tests.exchange.test_disposal import Defaulted


def test_staff_desk_flow(client, session, factory):
    d = Defaulted(session, factory)
    session.commit()
    login(client, d.staff)
    page = client.get("/exchange/staff/").get_data(as_text=True)
    assert "处置工作台" in page and f"/exchange/staff/loans/{d.loan.id}/list" in page
    r = client.post(f"/exchange/staff/loans/{d.loan.id}/list", data={f"valuation_{d.assets[0].id}": "3,000,000"})
    assert r.status_code == 302
    listing = session.scalar(select(Listing).where(Listing.loan_id == d.loan.id))
    assert listing.status is ListingStatus.UNDER_REVIEW and listing.valuation == D("3000000")
    page = client.get(f"/exchange/staff/{listing.id}").get_data(as_text=True)
    assert "审核清单" in page and "X2016500000999" in page
    data = {item: "y" for item in ("terms_within_rules", "asset_right_valid", "parties_notified",
                                   "preemption_holders_notified", "due_diligence_reviewed", "no_freeze_or_dispute")}
    client.post(f"/exchange/staff/{listing.id}/review", data={**data, "decision": "approve"})
    session.refresh(listing)
    assert listing.status is ListingStatus.ANNOUNCED
    assert client.get("/exchange/results").status_code == 200
    client.post("/logout")
    bidder = factory.user(Role.BIDDER)
    login(client, bidder)
    client.post(f"/exchange/{listing.id}/objection", data={"reason": "该专利存在权属纠纷。"})
    assert "异议" in client.get(f"/exchange/{listing.id}").get_data(as_text=True)
    assert client.get("/exchange/staff/").status_code == 403
    assert client.get("/exchange/my").status_code == 200
