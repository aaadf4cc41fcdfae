from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import Organisation, Role
from market.valuations import service
from tests.conftest import NOW
from tests.factories import confirmed_loan, make_asset, vinput


class World:
    def __init__(self, session, factory):
        self.session = session
        self.factory = factory
        self.valuer = factory.user(Role.VALUER)
        self.enterprise = factory.user(Role.ENTERPRISE)
        self.asset = make_asset(session, self.enterprise.organisation_id)

    def issue(self, asset=None, at=NOW, valuer=None, **kw):
        return service.create_valuation(self.session, valuer or self.valuer, vinput(asset or self.asset, **kw), at,
                                        issue=True)

    def pledge(self, asset, bank_user):
        return confirmed_loan(self.session, bank_user, self.session.get(Organisation, asset.owner_org_id),
                              principal=Decimal("1000000"), annual_rate=Decimal("0.05"), term_months=12,
                              asset_ids=[asset.id], signed_on=date(2026, 6, 1), registration_number="X2026500000001")


@pytest.fixture
def world(session, factory):
    return World(session, factory)


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "VALUATION_UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


