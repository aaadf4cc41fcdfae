"""The one helper every CSV/XLSX export writes its cells through, and the control-character filter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from market.sanitize import spreadsheet_safe, strip_controls


@pytest.mark.parametrize("text", ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1+2", "\r=1+2", "＝1+2", "－1"])
def test_text_a_spreadsheet_would_run_gets_a_quote(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["重庆银行", "a=1", " 1", "", None, Decimal("-5.00"), -3, date(2026, 1, 1)])
def test_other_values_are_unchanged(value):
    assert spreadsheet_safe(value) == value


def test_control_characters_are_stripped_but_tab_and_newlines_stay():
    assert strip_controls("a\x00\x0b\x0c\x1b\x7f\x85b\tc\r\nd") == "ab\tc\r\nd"
