"""The demo step issues deterministic reports for the demo enterprises' granted patents, once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from market.accounts.models import Role
from market.valuations.demo import demo_amount, demo_step
from market.valuations.models import Consultation, ConsultationStatus, Valuation, ValuationStatus
from tests.factories import make_asset


def test_demo_step_is_deterministic_and_idempotent(session, factory):
    factory.user(Role.VALUER, email="valuer@demo.cq")
    owner = factory.user(Role.ENTERPRISE, email="enterprise@demo.cq")
    assets = [make_asset(session, owner.organisation_id) for _ in range(3)]
    lines = []
    demo_step(lines.append)
    count = session.scalar(select(func.count()).select_from(Valuation))
    demo_step(lines.append)
    assert session.scalar(select(func.count()).select_from(Valuation)) == count
    for asset in assets:
        v = session.scalar(select(Valuation).where(Valuation.asset_id == asset.id))
        assert v.status is ValuationStatus.ISSUED and v.amount == demo_amount(asset.id)
        assert Decimal("300000") <= v.amount <= Decimal("3000000") and v.signer_qualification
    answered = session.scalars(select(Consultation).where(Consultation.org_id == owner.organisation_id)).all()
    assert [c.status for c in answered] == [ConsultationStatus.ANSWERED]
