"""Post-loan watch: expiring and lapsed valuation reports of pledged assets are flagged by the tick, once."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from market.accounts.models import Role
from market.loans.watch import tick
from market.valuations.models import Valuation, ValuationMethod, ValuationStatus, ValueType
from tests.conftest import NOW


def _report(session, factory, asset, valid_until: date) -> Valuation:
    valuer = factory.user(Role.VALUER)
    report = Valuation(asset_id=asset.id, agency_org_id=valuer.organisation_id, valuer_id=valuer.id,
                       value_type=ValueType(list(ValueType)[0].value), amount=Decimal("2000000"),
                       valuation_date=date(2016, 1, 10), valid_until=valid_until,
                       method=ValuationMethod(list(ValuationMethod)[0].value), signer_name="张评估",
                       signer_qualification="资产评估师", status=ValuationStatus.ISSUED, created_at=NOW,
                       issued_at=datetime(2016, 1, 10, 9))
    session.add(report)
    session.flush()
    return report


def test_valuation_flags(session, factory, world):
    expiring, lapsing, plain = world.asset(), world.asset(), world.asset()
    _report(session, factory, expiring, date(2016, 4, 20))
    _report(session, factory, lapsing, date(2016, 3, 20))
    loan = world.loan(assets=[expiring, lapsing, plain], signed_on=date(2016, 3, 1), term=12)
    # the schedule is kept (no overdue) so only the watch flags move
    counts = tick(session, date(2016, 3, 25), datetime(2016, 3, 25, 6))
    reasons = {(f.asset_id, f.reason) for f in loan.flags}
    assert (expiring.id, "valuation_expiring") in reasons
    assert (lapsing.id, "valuation_expired") in reasons
    assert not any(a == plain.id for a, _r in reasons)
    assert counts["flags"] == 2
    assert tick(session, date(2016, 3, 26), datetime(2016, 3, 26, 6))["flags"] == 0  # once
