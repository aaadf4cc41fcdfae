"""Bidding is rate limited per bidder (BID_RATE_LIMIT), on the page and through the API; a refused request writes no
bid, and another bidder is not slowed down by the first one's flood."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from market.accounts.models import Role
from market.api.auth import issue_token
from market.db import db, utcnow
from market.exchange.models import Bid
from tests.conftest import NOW, PASSWORD, Factory
from tests.factories import build_lot

ACCEPT = {"accept_terms": True}  # paying the deposit accepts the announcement and terms


def _setup(app):
    with app.app_context():
        factory = Factory(db.session)
        listing, _who = build_lot(db.session, factory, start=utcnow().replace(microsecond=0) - timedelta(hours=1),
                                  hours=25)
        a, b = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
        tokens = [issue_token(db.session, u, "bids", "read write", NOW)[1] for u in (a, b)]
        db.session.commit()
        return listing.id, a.email, [{"Authorization": f"Bearer {t}"} for t in tokens]


def _bids(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Bid))


def test_api_bids_are_limited_per_bidder(make_app):
    app = make_app(RATELIMIT_ENABLED=True, BID_RATE_LIMIT="3 per minute")
    listing_id, _email, (ha, hb) = _setup(app)
    client = app.test_client()
    url = f"/api/v1/auctions/{listing_id}/bids"
    assert client.post(f"/api/v1/auctions/{listing_id}/deposits", json=ACCEPT, headers=ha).status_code == 201
    assert client.post(f"/api/v1/auctions/{listing_id}/deposits", json=ACCEPT, headers=hb).status_code == 201
    codes = [client.post(url, json={"amount": str(700000 + 10000 * n)}, headers=ha).status_code for n in range(4)]
    assert codes == [201, 201, 201, 429]
    refused = client.post(url, json={"amount": "900000"}, headers=ha)
    assert refused.status_code == 429 and refused.get_json()["error"]["message"]
    assert _bids(app) == 3  # the refused requests wrote nothing
    # The other bidder has a limit of its own.
    assert client.post(url, json={"amount": "800000"}, headers=hb).status_code == 201


def test_page_bids_are_limited_per_user(make_app):
    app = make_app(RATELIMIT_ENABLED=True, BID_RATE_LIMIT="2 per minute")
    listing_id, email, (ha, _hb) = _setup(app)
    client = app.test_client()
    assert client.post(f"/api/v1/auctions/{listing_id}/deposits", json=ACCEPT, headers=ha).status_code == 201
    client.post("/login", data={"email": email, "password": PASSWORD})
    codes = [client.post(f"/exchange/{listing_id}/bid", data={"amount": str(700000 + 10000 * n)}).status_code
             for n in range(3)]
    assert codes == [302, 302, 429]
    assert _bids(app) == 2
