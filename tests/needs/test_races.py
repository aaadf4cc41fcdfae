"""Races on financing needs through the API, on SQLite and PostgreSQL (see docs/security.md, V2)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from market.accounts.models import Role
from market.needs import service
from market.needs.models import NeedAsset
from tests.conftest import Factory, post_at_once
from tests.factories import NeedsKit, make_asset
from tests.races import TARGETS, count, private_app, widen_window


@pytest.mark.parametrize("target", TARGETS)
def test_two_needs_offering_one_asset_at_once_make_one(make_app, target, monkeypatch):
    """An enterprise posts two needs offering the same patent at once: one is kept, the other refused (409)."""
    from market.db import db

    app = private_app(make_app, target)
    with app.app_context():
        f = Factory(db.session)
        user = f.user(Role.ENTERPRISE)
        asset_id = make_asset(db.session, user.organisation).id
        db.session.commit()
        email = user.email
    body = {"title": "锂电池产线扩产", "amount": "3000000", "term_months": 12, "purpose": "购置涂布设备",
            "max_rate": "0.06", "asset_ids": [asset_id], "submit": True}
    widen_window(monkeypatch, service, "check_assets", 2)
    statuses = post_at_once(app, [email] * 2, [("/api/v1/needs", body)] * 2)
    assert sorted(statuses) == [201, 409], statuses
    assert count(app, NeedAsset, NeedAsset.asset_id == asset_id) == 1


def _published_need(app):
    """A published need of a fresh enterprise (its user's e-mail, the need's id)."""
    from market.db import db, utcnow
    from market.needs.rules import REVIEW_CHECKLIST

    with app.app_context():
        f = Factory(db.session)
        kit = NeedsKit(db.session, f)
        user = f.user(Role.ENTERPRISE)
        need = service.create_need(db.session, user, kit.data([make_asset(db.session, user.organisation)]), utcnow(),
                                   submit=True)
        service.review_need(db.session, f.user(Role.STAFF), need.id, True, {k: True for k, _ in REVIEW_CHECKLIST},
                            None, utcnow())
        db.session.commit()
        return user.email, need.id


OFFER = {"amount": "3000000", "annual_rate": "0.05", "term_months": 12}


@pytest.mark.parametrize("target", TARGETS)
def test_two_offers_accepted_at_once_accept_one(make_app, target, monkeypatch):
    """The enterprise accepts two banks' offers on one need at the same moment: one is accepted, the other 409."""
    from market.db import db, utcnow
    from market.needs import docking
    from market.needs.models import Offer, OfferStatus

    app = private_app(make_app, target)
    email, need_id = _published_need(app)
    with app.app_context():
        f = Factory(db.session)
        offers = [docking.make_offer(db.session, f.user(Role.BANK), need_id, **{
            "amount": D(OFFER["amount"]), "annual_rate": D(OFFER["annual_rate"]), "term_months": 12}, now=utcnow()).id
            for _ in range(2)]
        db.session.commit()
    widen_window(monkeypatch, docking, "_offer_of_own_need", 2)
    statuses = post_at_once(app, [email] * 2, [(f"/api/v1/offers/{o}/accept", None) for o in offers])
    assert sorted(statuses) == [200, 409], statuses
    assert count(app, Offer, Offer.need_id == need_id, Offer.status == OfferStatus.ACCEPTED) == 1
    assert count(app, Offer, Offer.need_id == need_id, Offer.status == OfferStatus.DECLINED) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_one_bank_offers_twice_at_once_makes_one_offer(make_app, target, monkeypatch):
    """A bank posts the same offer twice at once (a double click): one offer and one docking record, the other 409."""
    from market.db import db
    from market.needs import docking
    from market.needs.models import Claim, Offer

    app = private_app(make_app, target)
    _email, need_id = _published_need(app)
    with app.app_context():
        bank_email = Factory(db.session).user(Role.BANK).email
    widen_window(monkeypatch, docking, "_open_need_for_bank", 2)
    statuses = post_at_once(app, [bank_email] * 2, [(f"/api/v1/needs/{need_id}/offers", OFFER)] * 2)
    assert sorted(statuses) == [201, 409], statuses
    assert count(app, Offer, Offer.need_id == need_id) == 1 and count(app, Claim, Claim.need_id == need_id) == 1
