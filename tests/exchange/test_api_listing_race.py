"""Races through the API: two staff members list the same defaulted loan at the same moment (one listing per
pledged asset, never two; the loan moves to in_disposal once), and the winner and staff confirm the same settlement
at once (settled once, the other 409)."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import Role
from market.exchange.models import ListingSource
from tests.conftest import NOW, post_at_once


def _race(app):
    from market.db import db
    from market.exchange.models import Listing
    from market.loans.default import declare_default
    from tests.conftest import Factory
    from tests.factories import bank_loan

    with app.app_context():
        f = Factory(db.session)
        staff = [f.user(Role.STAFF), f.user(Role.STAFF)]
        bank, loan, assets = bank_loan(db.session, f, assets=2)
        declare_default(db.session, bank, loan.id, NOW, reason="逾期未还")
        db.session.commit()
        loan_id, emails = loan.id, [u.email for u in staff]
        body = {"valuations": [{"asset_id": a.id, "amount": "1000000"} for a in assets]}
    statuses = post_at_once(app, emails, [(f"/api/v1/disposal/loans/{loan_id}/listings", body)] * 2)
    with app.app_context():
        from market.audit.models import AuditEntry

        listings = db.session.scalar(select(func.count()).select_from(Listing).where(Listing.loan_id == loan_id))
        moved = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "loan.in_disposal", AuditEntry.entity_id == str(loan_id)))
    return sorted(statuses), listings, moved


def test_two_listings_of_one_loan_at_once_sqlite(make_app):
    statuses, listings, moved = _race(make_app())
    assert statuses == [201, 409] and listings == 2 and moved == 1


@pytest.mark.skipif(not os.environ.get("MARKET_TEST_POSTGRESQL_URL"), reason="PostgreSQL not configured")
def test_two_listings_of_one_loan_at_once_postgresql(make_app):
    statuses, listings, moved = _race(make_app(url=os.environ["MARKET_TEST_POSTGRESQL_URL"]))
    assert statuses == [201, 409] and listings == 2 and moved == 1


def _pay_race(app):
    """The winner and a staff member confirm the same settlement at the same moment: it is settled once."""
    from datetime import timedelta

    from market.db import db, utcnow
    from market.exchange import bidding, clock, deposits
    from market.exchange.models import LedgerEntry, Listing, Transfer
    from tests.conftest import Factory
    from tests.factories import build_lot

    with app.app_context():
        f = Factory(db.session)
        start = utcnow().replace(microsecond=0) - timedelta(hours=30)
        listing, _who = build_lot(db.session, f, start=start, hours=24)
        winner, staff = f.user(Role.BIDDER), f.user(Role.STAFF)
        db.session.commit()
        deposits.pay_deposit(db.session, winner, listing.id, start + timedelta(minutes=1))
        assert bidding.place_bid(db.session, winner, listing.id, Decimal("700000"), start + timedelta(minutes=2))
        clock.tick(db.session, utcnow())
        db.session.commit()
        listing_id, emails = listing.id, [winner.email, staff.email]
        assert db.session.get(Listing, listing_id).status.value == "sold"
    statuses = post_at_once(app, emails, [(f"/api/v1/auctions/{listing_id}/payment", None)] * 2)
    with app.app_context():
        transfers = db.session.scalar(select(func.count()).select_from(Transfer)
                                      .where(Transfer.listing_id == listing_id))
        paid = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.listing_id == listing_id, LedgerEntry.entry == "balance_paid"))
    return sorted(statuses), transfers, paid


def test_one_settlement_confirmed_twice_at_once_sqlite(make_app):
    assert _pay_race(make_app()) == ([200, 409], 1, 1)


@pytest.mark.skipif(not os.environ.get("MARKET_TEST_POSTGRESQL_URL"), reason="PostgreSQL not configured")
def test_one_settlement_confirmed_twice_at_once_postgresql(make_app):
    assert _pay_race(make_app(url=os.environ["MARKET_TEST_POSTGRESQL_URL"])) == ([200, 409], 1, 1)


def _decide_race(app):
    """Two staff members decide the same objection at the same moment, one upholding and one dismissing it."""
    from market.db import db, utcnow
    from market.exchange import disposal, listings
    from market.exchange.models import Listing, Objection
    from tests.conftest import Factory
    from tests.factories import CHECKED, LOT_ASSET, make_asset

    with app.app_context():
        f = Factory(db.session)
        staff = [f.user(Role.STAFF), f.user(Role.STAFF)]
        owner = f.user(Role.ENTERPRISE)
        objector = f.user(Role.BIDDER)
        asset = make_asset(db.session, owner.organisation_id, **LOT_ASSET)
        now = utcnow()
        terms = disposal.default_terms(Decimal("1000000"), now)
        listing = listings.create_listing(db.session, staff[0], asset_id=asset.id, source=ListingSource.VOLUNTARY,
                                          valuation=Decimal("1000000"), now=now, **terms)
        listings.submit_listing(db.session, staff[0], listing, now)
        listings.review_listing(db.session, staff[0], listing, CHECKED, True, now)
        objection = disposal.file_objection(db.session, objector, listing, "We co-own this patent.", now)
        db.session.commit()
        objection_id, listing_id, emails = objection.id, listing.id, [u.email for u in staff]
    decisions = ("uphold", "dismiss")
    url = f"/api/v1/disposal/objections/{objection_id}/resolve"
    statuses = dict(zip(decisions, post_at_once(app, emails, [(url, {"decision": d}) for d in decisions]),
                        strict=True))
    with app.app_context():
        decided = db.session.get(Objection, objection_id).status.value
        lot = db.session.get(Listing, listing_id).status.value
    return statuses, decided, lot


def _check_decision(statuses, decided, lot):
    assert sorted(statuses.values()) == [200, 409], statuses
    if statuses["uphold"] == 200:
        assert (decided, lot) == ("upheld", "cancelled")
    else:
        assert (decided, lot) == ("dismissed", "announced")


def test_objection_upheld_and_dismissed_at_once_sqlite(make_app):
    _check_decision(*_decide_race(make_app()))


@pytest.mark.skipif(not os.environ.get("MARKET_TEST_POSTGRESQL_URL"), reason="PostgreSQL not configured")
def test_objection_upheld_and_dismissed_at_once_postgresql(make_app):
    _check_decision(*_decide_race(make_app(url=os.environ["MARKET_TEST_POSTGRESQL_URL"])))
