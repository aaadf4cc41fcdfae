"""The shared API input rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from marshmallow import ValidationError

from market.api.fields import places


@pytest.mark.parametrize("value", ["1500000", "1500000.5", "1500000.50", "1.500000", "0.01", "1E+3", "-2.10", "0.000",
                                   "123456789012345678901234567890.10"])
def test_two_places_or_fewer_pass(value):
    places(2)(Decimal(value))


@pytest.mark.parametrize("value", ["0.001", "1500000.505", "1E-30", "123456789012345678901234567890.123"])
def test_more_places_are_refused_never_an_arithmetic_error(value):
    with pytest.raises(ValidationError):
        places(2)(Decimal(value))
