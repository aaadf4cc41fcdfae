from __future__ import annotations

import pytest

from tests.factories import NeedsKit


@pytest.fixture
def kit(session, factory):
    return NeedsKit(session, factory)
