"""Test data for the search contract: a small hand-made patent set, where the real patent CSV lives, and the test
Elasticsearch server (``elasticsearch_url``, also used by the app's index tests through tests/outbox/engines.py)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from search import Schema

ES_URL = os.environ.get("MARKET_TEST_ELASTICSEARCH_URL", "").strip()
REQUIRE_SERVICES = os.environ.get("MARKET_TEST_REQUIRE_SERVICES", "").strip() == "1"


def elasticsearch_url() -> str:
    """The test server URL, or skip / fail (under MARKET_TEST_REQUIRE_SERVICES=1) when there is none."""
    if not ES_URL:
        if REQUIRE_SERVICES:
            pytest.fail("MARKET_TEST_ELASTICSEARCH_URL is not set and MARKET_TEST_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip("MARKET_TEST_ELASTICSEARCH_URL is not set")
    return ES_URL


_CSV_IN_SHARED = "shared/data/cn-patents-title-ipc/cn_patents_title_ipc.csv"
# shared/ sits beside the repository (CI's clone and the work tree alike).
PATENT_CSV = next(
    (p for p in (Path(__file__).resolve().parents[3] / _CSV_IN_SHARED, Path("/work") / _CSV_IN_SHARED) if p.exists()),
    Path(__file__).resolve().parents[3] / _CSV_IN_SHARED,
)

SCHEMA = Schema(
    "patent",
    text_fields={"title": 2.0, "abstract": 1.0},
    keyword_fields=["kind", "ipc_subclass"],
    numeric_fields=["valuation"],
    date_fields=["filed_on"],
)
REAL_SCHEMA = Schema("patent", text_fields={"title": 1.0}, keyword_fields=["kind", "ipc_subclass"])

DOCS: list[dict[str, Any]] = [
    {"id": "p01", "title": "一种锂离子电池正极材料及其制备方法",
     "abstract": "Li-ion battery cathode LiFePO<sub>4</sub>",
     "kind": "A", "ipc_subclass": ["H01M", "C01B"], "valuation": 1_200_000, "filed_on": date(2021, 3, 1)},
    {"id": "p02", "title": "锂电池 battery management 系统", "abstract": "",
     "kind": "A", "ipc_subclass": ["H01M", "H02J"], "valuation": 800_000, "filed_on": date(2021, 6, 15)},
    {"id": "p03", "title": "知识产权质押融资风险评估装置", "abstract": "用于银行的风险评估",
     "kind": "B", "ipc_subclass": ["G06Q"], "valuation": 800_000, "filed_on": date(2020, 1, 2)},
    {"id": "p04", "title": "电池包散热装置", "abstract": "",
     "kind": "U", "ipc_subclass": ["H01M", "F28D"], "valuation": 300_000, "filed_on": date(2022, 8, 30)},
    {"id": "p05", "title": "<script>alert(1)</script> 数据处理装置", "abstract": "",
     "kind": "A", "ipc_subclass": ["G06F"], "valuation": None, "filed_on": None},
    {"id": "p06", "title": "一种水电站高压输电线路驱鸟保护装置", "abstract": "",
     "kind": "U", "ipc_subclass": ["A01M", "H02G", "G06F"], "valuation": 150_000, "filed_on": date(2021, 12, 31)},
    {"id": "p07", "title": "车辆动力电池质押监管方法", "abstract": "",
     "kind": "A", "ipc_subclass": ["G06Q", "B60L"], "valuation": 800_000, "filed_on": date(2023, 5, 5)},
    {"id": "p08", "title": "Battery pack housing", "abstract": "",
     "kind": "U", "ipc_subclass": ["H01M"], "valuation": 90_000, "filed_on": date(2019, 11, 11)},
    {"id": "p09", "title": "基于图像识别的焊接质量检测装置", "abstract": "",
     "kind": "B", "ipc_subclass": ["G06T", "B23K"], "valuation": 2_500_000, "filed_on": date(2020, 7, 7)},
    {"id": "p10", "title": "一种电", "abstract": "单字",
     "kind": "A", "ipc_subclass": [], "valuation": 10, "filed_on": date(2024, 2, 29)},
]  # fmt: skip
