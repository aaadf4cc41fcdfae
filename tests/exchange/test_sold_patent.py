"""A patent sold at the exchange changes hands everywhere: it leaves the old owner's open needs (banks can no longer
claim it), and its page shows the transfer and the new owner. A need's page links each offered patent with its
valuation, remaining term, legal status and pledge state, for the bank and the reviewing staff."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from market.accounts.models import OrgKind, Role
from market.errors import Conflict
from market.exchange import bidding, clock, deposits, listings, settlement
from market.exchange.models import ListingSource
from market.ip.models import PledgeState
from market.needs import docking
from market.needs import service as needs
from market.needs.models import NeedStatus
from market.needs.rules import REVIEW_CHECKLIST
from tests.conftest import NOW, login
from tests.factories import CHECKED, LOT_ASSET, make_asset


def _free(session, owner_user):
    asset = make_asset(session, owner_user.organisation_id, **LOT_ASSET)
    asset.pledge_state = PledgeState.FREE
    session.flush()
    return asset


def _need(session, factory, owner_user, assets):
    data = needs.NeedInput(title="转让测试需求", amount=D("1000000"), term_months=12, purpose="扩产",
                           max_rate=D("0.06"), asset_ids=[a.id for a in assets])
    need = needs.create_need(session, owner_user, data, NOW, submit=True)
    needs.review_need(session, factory.user(Role.STAFF), need.id, True, {k: True for k, _l in REVIEW_CHECKLIST},
                      None, NOW)
    return need


def _sell(session, factory, seller_user, asset, buyer):
    staff = factory.user(Role.STAFF)
    start = NOW + timedelta(days=40)
    listing = listings.create_listing(
        session, seller_user, asset_id=asset.id, source=ListingSource.VOLUNTARY, valuation=D("1000000"),
        starting_price=D("700000"), increment=D("10000"), deposit_amount=D("70000"),
        notice_starts_at=NOW + timedelta(days=2), bidding_starts_at=start, ends_at=start + timedelta(hours=24),
        loan_id=None, now=NOW)
    listings.submit_listing(session, seller_user, listing, NOW)
    listings.review_listing(session, staff, listing, CHECKED, True, NOW + timedelta(days=1))
    clock.tick(session, start)
    deposits.pay_deposit(session, buyer, listing, start)
    bidding.place_bid(session, buyer, listing.id, D("700000"), start + timedelta(minutes=1))
    clock.tick(session, listing.ends_at)
    session.refresh(listing)
    settlement.record_payment(session, buyer, listing, listing.ends_at + timedelta(hours=1))
    return listing


def test_a_sold_patent_leaves_open_needs_and_shows_its_transfer(client, session, factory):
    owner = factory.user(Role.ENTERPRISE)
    kept, sold = _free(session, owner), _free(session, owner)
    need = _need(session, factory, owner, [kept, sold])
    buyer = factory.user(Role.BIDDER, org=factory.org(OrgKind.INVESTOR))
    listing = _sell(session, factory, owner, sold, buyer)
    assert sold.owner_org_id == buyer.organisation_id
    assert need.asset_ids == [kept.id] and need.status is NeedStatus.PUBLISHED
    session.commit()

    bank = factory.user(Role.BANK)
    login(client, bank)
    page = client.get(f"/patents/{sold.id}").get_data(as_text=True)
    assert 'data-test="transfers"' in page and buyer.organisation.name in page
    assert f"/exchange/{listing.id}" in page
    need_page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert f"/patents/{kept.id}" in need_page and f"/patents/{sold.id}" not in need_page
    assert 'data-test="need-assets"' in need_page


def test_a_bank_cannot_claim_a_need_whose_patent_changed_hands(session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = _free(session, owner)
    need = _need(session, factory, owner, [asset])
    asset.owner_org_id = factory.org(OrgKind.ENTERPRISE).id  # changed hands outside the exchange (e.g. a court)
    session.flush()
    with pytest.raises(Conflict):
        docking.claim_need(session, factory.user(Role.BANK), need.id, NOW)


def test_the_only_patent_sold_withdraws_the_need(session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = _free(session, owner)
    need = _need(session, factory, owner, [asset])
    bank = factory.user(Role.BANK)
    docking.claim_need(session, bank, need.id, NOW)
    _sell(session, factory, owner, asset, factory.user(Role.BIDDER))
    assert need.status is NeedStatus.WITHDRAWN and not need.assets
    assert all(c.status.value == "declined" for c in need.claims)
