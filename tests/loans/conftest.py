from __future__ import annotations

import pytest

from tests.factories import LoanWorld


@pytest.fixture
def world(session, factory):
    return LoanWorld(session, factory)
