"""A cancelled lot gives its asset back to its pledge through the pledge register, audited (#16); the lot page links
its defaulted loan for the people the loans area lets see it, and names it in plain text for everyone else."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.exchange import disposal, listings
from market.exchange.models import ListingSource, ListingStatus
from market.ip.models import PledgeState
from tests.conftest import NOW, login
from tests.exchange.test_disposal import Defaulted
from tests.factories import CHECKED, make_asset


def _announced(session, d):
    [listing] = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW,
                                                valuations={d.assets[0].id: D("3000000")})
    listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    return listing


def test_a_lot_cancelled_after_its_announcement_leaves_the_asset_pledged_to_the_loan(session, factory):
    d = Defaulted(session, factory)
    listing = _announced(session, d)
    asset = d.assets[0]
    assert listing.status is ListingStatus.ANNOUNCED and asset.pledge_state is PledgeState.IN_DISPOSAL
    listings.cancel_listing(session, d.staff, listing, NOW, note="权属核查未完成")
    assert asset.pledge_state is PledgeState.PLEDGED
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "ip_asset",
                                                    AuditEntry.entity_id == str(asset.id),
                                                    AuditEntry.action == "ip_asset.withdrawn_from_disposal"))
    assert entry is not None and entry.actor_id == d.staff.id
    assert (entry.before["pledge_state"], entry.after["pledge_state"]) == ("in_disposal", "pledged")
    # The loan still holds it: the asset waits to be listed again, and is put up for disposal again when announced.
    assert [a.id for _loan, waiting in disposal.defaulted_loans_to_list(session) for a in waiting] == [asset.id]
    again = _announced(session, d)
    assert again.status is ListingStatus.ANNOUNCED and asset.pledge_state is PledgeState.IN_DISPOSAL


def test_an_owners_cancelled_voluntary_lot_leaves_the_asset_free(session, factory):
    owner = factory.user(Role.ENTERPRISE)
    staff = factory.user(Role.STAFF)
    asset = make_asset(session, owner.organisation, filing_date=date(2017, 5, 2))
    listing = listings.create_listing(session, owner, asset_id=asset.id, source=ListingSource.VOLUNTARY,
                                      valuation=D("500000"), now=NOW, **disposal.default_terms(D("500000"), NOW))
    listings.submit_listing(session, owner, listing, NOW)
    listings.review_listing(session, staff, listing, CHECKED, True, NOW)
    assert asset.pledge_state is PledgeState.IN_DISPOSAL
    listings.cancel_listing(session, staff, listing, NOW)
    assert asset.pledge_state is PledgeState.FREE


def test_the_lot_links_its_loan_only_for_those_who_may_see_it(session, factory, client):
    d = Defaulted(session, factory)
    listing = _announced(session, d)
    outsider_bank = factory.user(Role.BANK)
    bidder = factory.user(Role.BIDDER)
    session.commit()
    link = f'href="/loans/{d.loan.id}"'

    def page():
        html = client.get(f"/exchange/{listing.id}").get_data(as_text=True)
        return html.split('data-test="default-loan"', 1)[1].split("</dd>", 1)[0]

    assert link not in page() and f"#{d.loan.id}" in page()  # anonymous
    for who, linked in ((d.bank_user, True), (d.staff, True), (outsider_bank, False), (bidder, False)):
        login(client, who)
        shown = page()
        assert (link in shown) is linked and f"#{d.loan.id}" in shown, who.role
        client.post("/logout")
    login(client, d.staff)
    staff_page = client.get(f"/exchange/staff/{listing.id}").get_data(as_text=True)
    assert link in staff_page.split('data-test="default-loan"', 1)[1].split("</dd>", 1)[0]


def test_the_lot_links_its_patent(session, factory, client):
    """The due-diligence pack's application number opens the patent's page (its facts, history and valuations)."""
    d = Defaulted(session, factory)
    listing = _announced(session, d)
    session.commit()
    html = client.get(f"/exchange/{listing.id}").get_data(as_text=True)
    assert f'href="/patents/{listing.asset_id}"' in html.split('data-test="lot-patent"', 1)[1].split("</dd>", 1)[0]
