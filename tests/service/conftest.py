from __future__ import annotations

import pytest

from tests.conftest import PG_URL
from tests.service.helpers import DATABASES


@pytest.fixture(params=DATABASES)
def private_app(request, make_app):
    """A private app with real commits, on SQLite and on PostgreSQL (the second test database)."""
    return make_app(url=PG_URL if request.param == "postgresql" else None, CLOCK_POLL_SECONDS=0.2)
