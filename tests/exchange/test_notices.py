"""The exchange tells every party what happened and what waits for them: review, outbid, won, lost, sold, settled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from market.accounts.models import Role
from market.exchange import bidding, clock, deposits, settlement
from market.notices.service import notices_for, todos_for
from tests.conftest import NOW
from tests.factories import build_lot


def _texts(session, user):
    return [n.msgid % n.params for n in notices_for(session, user)]


def test_bidders_seller_and_staff_are_told(session, factory):
    listing, who = build_lot(session, factory)
    staff = who["staff"]
    assert any(f"Lot {listing.id}" in t and "awaits review" in t for t in _texts(session, staff))
    a, b = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
    for user in (a, b):
        deposits.pay_deposit(session, user, listing, NOW)
    bidding.place_bid(session, a, listing.id, D("700000"), NOW + timedelta(hours=1))
    assert not any("outbid" in t for t in _texts(session, a))
    bidding.place_bid(session, b, listing.id, D("710000"), NOW + timedelta(hours=2))
    assert any("outbid" in t and "710000" in t for t in _texts(session, a))
    bidding.place_bid(session, b, listing.id, D("720000"), NOW + timedelta(hours=3))  # raising one's own lead
    assert not any("outbid" in t for t in _texts(session, b))

    clock.tick(session, listing.ends_at)
    session.refresh(listing)
    assert any("You won" in t for t in _texts(session, b))
    assert any("went to another bidder" in t for t in _texts(session, a))
    seller = factory.user(Role.BANK, org=who["bank"].organisation)
    assert any("was sold at" in t for t in _texts(session, seller))
    # The winner's to-do list holds the payment, due by the lot's deadline.
    todo = next(t for t in todos_for(session, b, listing.ends_at) if t.url == f"/exchange/{listing.id}")
    assert todo.due == listing.payment_due_at and not todo.late

    settlement.record_payment(session, b, listing, listing.ends_at + timedelta(hours=1))
    assert any("settled" in t for t in _texts(session, b))
    assert any("settled" in t for t in _texts(session, seller))
    assert not [t for t in todos_for(session, b, listing.ends_at) if t.url == f"/exchange/{listing.id}"]


def test_a_lot_without_bids_tells_the_seller(session, factory):
    listing, who = build_lot(session, factory)
    clock.tick(session, listing.ends_at)
    assert any("had no bid" in t for t in _texts(session, who["bank"]))


def test_owners_of_saved_searches_in_the_lots_ipc_field_are_told(session, factory):
    """A saved patent search that filters on the lot's IPC field (H01 for H01M) brings its owner a notice when the
    lot is announced; one in another field does not (the saved searches were never read before)."""
    from market.ip.models import SavedSearch

    near, far = factory.user(Role.BANK), factory.user(Role.BANK)
    for user, query in ((near, {"ipc": ["H01M"], "q": "隔膜"}), (far, {"ipc": ["A61K"]})):
        session.add(SavedSearch(owner_user_id=user.id, owner_org_id=user.organisation_id, name="watch", query=query,
                                created_at=NOW, last_checked_at=NOW, last_seen_at=NOW))
    session.flush()
    listing, _who = build_lot(session, factory, bidding=False)
    assert any("IPC field H01" in t and listing.title in t for t in _texts(session, near))
    assert not any("IPC field" in t for t in _texts(session, far))
