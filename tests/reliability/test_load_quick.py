"""The load benchmark's quick mode still runs (so it cannot rot): exit 0 and the JSON keys. No timing assertions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ["python"] + (["wrk"] if shutil.which("wrk") else [])


@pytest.mark.parametrize("tool", TOOLS)
def test_load_bench_quick(tool):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_")}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "load" / "load_bench.py"), "--quick", "--json",
                           "--tool", tool], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["quick"] is True and data["tool"] == tool
    assert {"machine", "runs", "rss_kib", "rss_kib_idle", "targets", "bids_check", "memory_method"} <= set(data)
    assert set(data["runs"]) == {"bare", "layout", "search_page", "search_varied", "auction_state", "bid"}
    for run in data["runs"].values():
        assert {"requests", "rps", "p50_ms", "p99_ms", "non_2xx_3xx"} <= set(run)
        assert run["requests"] > 0
    for name in ("bare", "layout", "search_page", "search_varied", "auction_state"):
        assert data["runs"][name]["non_2xx_3xx"] == 0, data["runs"][name]  # every page answered 200
    assert data["bids_check"]["ok"] is True, data["bids_check"]  # no bid lost or counted twice
    assert {"search_rps_ge_40pct_bare", "bid_p99_le_3x_state_p99", "rss_le_400_mb", "peak_rss_mb",
            "search_varied_rps_over_bare_rps", "layout_rps_over_bare_rps"} <= set(data["targets"])
    assert data["rss_kib"]["VmHWM"] > 0
