"""The services check the same bounds as the surfaces: a value that slipped past a field is still refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import Role
from market.errors import InvalidInput
from market.needs import docking
from market.needs.docking import ProductInput
from market.policy.service import add_rate
from tests.conftest import NOW


@pytest.mark.parametrize("rate", ["1E-40", "0.00001", "0.5", "0.04351234"])
def test_a_reference_rate_outside_its_bound_is_refused_not_rounded_to_zero(session, factory, rate):
    staff = factory.user(Role.STAFF)
    with pytest.raises(InvalidInput):
        add_rate(session, staff, kind="lpr_1y", effective_on=date(2043, 1, 1), rate=Decimal(rate), source=None,
                 now=NOW)


@pytest.mark.parametrize("max_amount", ["1E+308", "1E+20", "100000000000.01"])
def test_a_product_beyond_the_stated_maximum_amount_is_refused(session, factory, max_amount):
    bank = factory.user(Role.BANK)
    with pytest.raises(InvalidInput):
        docking.save_product(session, bank, ProductInput(
            name="知识产权贷", min_amount=Decimal("100000"), max_amount=Decimal(max_amount), min_term_months=6,
            max_term_months=36, min_rate=Decimal("0.04"), max_rate=Decimal("0.08"), accepted_kinds=["invention"]),
            NOW)
