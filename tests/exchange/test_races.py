"""Races on the exchange desk through the API, on SQLite and PostgreSQL: every check-then-write holds under
concurrency (see docs/security.md, V2)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from market.accounts.models import OrgKind, Role
from market.exchange.models import Listing
from tests.conftest import Factory, post_at_once
from tests.races import TARGETS, count, private_app, widen_window


def _owner_and_asset(app):
    from market.db import db
    from tests.factories import make_asset

    with app.app_context():
        owner = Factory(db.session).user(Role.ENTERPRISE)
        asset = make_asset(db.session, owner.organisation, filing_date=date(2017, 5, 2))
        db.session.commit()
        return owner.email, asset.id


def _listing_body(asset_id: int) -> dict:
    from market.db import utcnow

    notice = utcnow().replace(microsecond=0, minute=0) + timedelta(hours=1)
    return {"asset_id": asset_id, "kind": "auction", "valuation": "2000000", "starting_price": "1400000",
            "increment": "10000", "deposit_amount": "140000", "notice_starts_at": notice.isoformat() + "Z",
            "bidding_starts_at": (notice + timedelta(days=30)).isoformat() + "Z",
            "ends_at": (notice + timedelta(days=31)).isoformat() + "Z"}


@pytest.mark.parametrize("target", TARGETS)
def test_twelve_listings_of_one_asset_at_once_make_one(make_app, target):
    """The owner lists one asset twelve times at once: one listing goes to review, eleven are refused (409)."""
    app = private_app(make_app, target)
    email, asset_id = _owner_and_asset(app)
    statuses = post_at_once(app, [email] * 12, [("/api/v1/disposal/listings", _listing_body(asset_id))] * 12)
    assert sorted(statuses) == [201] + [409] * 11, statuses
    assert count(app, Listing, Listing.asset_id == asset_id) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_a_draft_submitted_twice_at_once_is_submitted_once(make_app, target, monkeypatch):
    """The author submits one draft twice at once (a double click): one submission (one audit entry), one 409."""
    from market.audit.models import AuditEntry
    from market.db import db, utcnow
    from market.exchange import listings
    from market.exchange.models import ListingSource
    from tests.factories import LOT_ASSET, make_asset

    app = private_app(make_app, target)
    with app.app_context():
        f = Factory(db.session)
        staff = f.user(Role.STAFF)
        asset = make_asset(db.session, f.org(OrgKind.ENTERPRISE).id, **LOT_ASSET)
        now = utcnow()
        terms = {k: v for k, v in _listing_body(asset.id).items() if k not in ("asset_id", "kind")}
        listing = listings.create_listing(db.session, staff, asset_id=asset.id, source=ListingSource.DEFAULT,
                                          now=now, **_terms(terms))
        db.session.commit()
        listing_id, email = listing.id, staff.email
    widen_window(monkeypatch, listings, "require", 2)
    statuses = post_at_once(app, [email] * 2, [(f"/api/v1/disposal/listings/{listing_id}/submit", None)] * 2)
    assert sorted(statuses) == [200, 409], statuses
    assert count(app, AuditEntry, AuditEntry.action == "listing.under_review",
                 AuditEntry.entity_id == str(listing_id)) == 1


def _terms(body: dict) -> dict:
    from datetime import datetime
    from decimal import Decimal

    return {k: (datetime.fromisoformat(v.rstrip("Z")) if k.endswith("_at") else Decimal(v)) for k, v in body.items()}
