from __future__ import annotations

import pytest

from tests.factories import build_lot


@pytest.fixture
def lot(session, factory):
    return build_lot(session, factory)
