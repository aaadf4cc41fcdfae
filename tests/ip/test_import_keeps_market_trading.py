"""`market import patents` commits in batches: bids placed while a large file goes in are answered at once, not
queued behind the whole import (on SQLite one transaction for the file held the only write lock for minutes)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from market.db import db
from market.exchange.models import Bid
from market.ip.demo import TITLE_IPC
from market.ip.models import IpAsset
from tests.exchange.test_concurrency import TARGETS, prepare
from tests.ip.test_registry import csv_slice

ROWS = 1200


@pytest.mark.parametrize("target", TARGETS)
def test_bids_succeed_while_an_import_runs(make_app, target, tmp_path):
    from tests.exchange.test_concurrency import PG_URL_2

    app = make_app(**({"url": PG_URL_2} if target == "postgresql" else {}))
    listing_id, headers = prepare(app, 2)
    source = csv_slice(TITLE_IPC, ROWS, tmp_path)
    outcome = {}

    def run_import():
        outcome["result"] = app.test_cli_runner().invoke(args=["import", "patents", str(source), "--no-sync"])
        outcome["ended"] = time.monotonic()

    importer = threading.Thread(target=run_import)
    importer.start()
    time.sleep(1.0)  # well into the import's first batch
    client = app.test_client()
    during = []  # (status, seconds, answered while the import was still running)
    for i in range(6):
        state = client.get(f"/api/v1/auctions/{listing_id}").get_json()
        started = time.monotonic()
        response = client.post(f"/api/v1/auctions/{listing_id}/bids", json={"amount": state["next_min_bid"]},
                               headers=headers[i % 2])
        during.append((response.status_code, time.monotonic() - started, importer.is_alive()))
    importer.join(300)
    result = outcome["result"]
    assert result.exit_code == 0, result.output
    assert f"{ROWS} rows" in result.output
    assert all(status == 201 for status, _s, _alive in during), during
    answered_during_import = [seconds for _status, seconds, alive in during if alive]
    assert len(answered_during_import) >= 3, during  # the import was still running while bids went through
    assert max(answered_during_import) < 5, during
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Bid).where(Bid.listing_id == listing_id)) == 6
        assert db.session.scalar(select(func.count()).select_from(IpAsset)) >= ROWS - 10
