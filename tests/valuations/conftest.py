from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest

from market.accounts.models import Role
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from market.valuations import service
from market.valuations.models import ValuationMethod, ValueType
from tests.conftest import NOW

_n = count(1)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def make_asset(session, owner_org_id, ipc=("H01M10/0525",), **kw) -> IpAsset:
    n = next(_n)
    asset = IpAsset(kind=kw.pop("kind", IpKind.INVENTION), application_number=f"2077{n:08d}V",
                    title=f"一种锂电池电解液{n}", owner_org_id=owner_org_id, ipc_codes=list(ipc),
                    legal_status=LegalStatus.GRANTED, pledge_state=PledgeState.FREE, created_at=NOW, updated_at=NOW,
                    **kw)
    session.add(asset)
    session.flush()
    return asset


def vinput(asset, **kw) -> service.ValuationInput:
    fields = dict(asset_id=asset.id, value_type=ValueType.MARKET, amount=Decimal("1000000"),
                  valuation_date=NOW.date() - timedelta(days=10), method=ValuationMethod.INCOME,
                  signer_name="王评估", signer_qualification="CPV-0001")
    fields.update(kw)
    return service.ValuationInput(**fields)


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
        from market.accounts.models import Organisation
        from tests.loans.conftest import confirmed_loan

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


