"""Helpers for the needs tests: IP assets of an organisation, a ready need, a bank product."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

import pytest

from market.accounts.models import Role
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from market.needs import docking, service
from market.needs.docking import ProductInput
from market.needs.service import NeedInput
from tests.conftest import NOW

_n = count(1)


class NeedsKit:
    def __init__(self, session, factory):
        self.session = session
        self.factory = factory

    def asset(self, org, kind=IpKind.INVENTION, status=LegalStatus.GRANTED, pledge=PledgeState.FREE,
              frozen=False, ipc=("H01M10/0525",), title=None) -> IpAsset:
        n = next(_n)
        asset = IpAsset(kind=kind, application_number=f"2099{n:08d}X"[:13], title=title or f"一种锂电池极片{n}",
                        ipc_codes=list(ipc), owner_org_id=org.id if org else None, legal_status=status,
                        pledge_state=pledge, frozen=frozen, created_at=NOW, updated_at=NOW)
        self.session.add(asset)
        self.session.flush()
        return asset

    def enterprise(self, **kw):
        user = self.factory.user(Role.ENTERPRISE, **kw)
        return user

    def data(self, assets, **over) -> NeedInput:
        base = dict(title="锂电池产线扩产", amount=Decimal("3000000.00"), term_months=12, purpose="购置涂布设备",
                    max_rate=Decimal("0.0600"), asset_ids=[a.id for a in assets])
        base.update(over)
        return NeedInput(**base)

    def published_need(self, enterprise=None, staff=None, n_assets=2, **over):
        enterprise = enterprise or self.enterprise()
        staff = staff or self.factory.user(Role.STAFF)
        assets = [self.asset(enterprise.organisation) for _ in range(n_assets)]
        need = service.create_need(self.session, enterprise, self.data(assets, **over), NOW, submit=True)
        service.review_need(self.session, staff, need.id, True, all_ticks(), None, NOW)
        return need

    def product(self, bank_user, **over):
        base = dict(name="知识产权质押贷", min_amount=Decimal("500000"), max_amount=Decimal("10000000"),
                    min_term_months=6, max_term_months=36, min_rate=Decimal("0.0435"), max_rate=Decimal("0.0650"),
                    accepted_kinds=["invention", "utility_model"], max_ltv={"invention": Decimal("0.4")})
        base.update(over)
        return docking.save_product(self.session, bank_user, ProductInput(**base), NOW)


def all_ticks():
    from market.needs.rules import REVIEW_CHECKLIST

    return {key: True for key, _label in REVIEW_CHECKLIST}


@pytest.fixture
def kit(session, factory):
    return NeedsKit(session, factory)
