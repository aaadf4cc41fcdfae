"""The one bounded decimal (market.bounded) that the web forms and the API are built on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from market.bounded import AMOUNT, ANNUAL_RATE, REFERENCE_RATE, SHARE, OutOfBounds, decimal_places, from_percent, parse

HOSTILE_TEXT = ["Infinity", "-Infinity", "inf", "NaN", "sNaN", "nan", "1e309", "1E+30", "1e-40", "0x10", "1_000",
                "１２３", "12 34", "", "   ", "--1", "1.2.3", "1" * 41, "99,999,999,999,999,999,999.99e0"]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_text_that_is_not_a_plain_number_is_refused(text):
    with pytest.raises(OutOfBounds):
        parse(text)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), float("-inf"), True, None, [], {}, 10**400])
def test_json_values_that_are_not_numbers_are_refused(value):
    with pytest.raises(OutOfBounds):
        parse(value)


@pytest.mark.parametrize("value, expected", [("1500000", "1500000"), (" 1,500,000.50 ", "1500000.50"), (".5", "0.5"),
                                             (0.0435, "0.0435"), (1500000, "1500000"), (1e-05, "0.00001"),
                                             (Decimal("2.10"), "2.10")])
def test_plain_numbers_are_read_exactly(value, expected):
    assert parse(value) == Decimal(expected)


@pytest.mark.parametrize("bound, value", [
    (AMOUNT, "0"), (AMOUNT, "0.001"), (AMOUNT, "-1"), (AMOUNT, "99999999999999999999.99"), (AMOUNT, "100000000000.01"),
    (ANNUAL_RATE, "0"), (ANNUAL_RATE, "1"), (ANNUAL_RATE, "0.0000001"), (REFERENCE_RATE, "0.00000001"),
    (REFERENCE_RATE, "0"), (SHARE, "1.000001"), (SHARE, "-0.1")])
def test_values_outside_their_domain_are_refused(bound, value):
    with pytest.raises(OutOfBounds):
        bound.check(parse(value))


@pytest.mark.parametrize("bound, value", [(AMOUNT, "0.01"), (AMOUNT, "100000000000"), (AMOUNT, "1500000.500"),
                                          (ANNUAL_RATE, "0.0435"), (ANNUAL_RATE, "0.999999"), (SHARE, "0"),
                                          (SHARE, "1"), (REFERENCE_RATE, "0.0001")])
def test_values_inside_their_domain_pass(bound, value):
    assert bound.check(parse(value)) == Decimal(value)


def test_places_are_counted_on_the_digits():
    assert decimal_places(Decimal("1.500")) == 1
    assert decimal_places(Decimal("0E-40")) == 0
    assert decimal_places(Decimal("1E+3")) == 0
    assert decimal_places(Decimal("1E-40")) == 40


def test_percent_is_shifted_exactly_and_messages_speak_percent():
    assert from_percent(Decimal("5.25")) == Decimal("0.0525")
    assert from_percent(Decimal("1234567890123456789012345678901.5")) == Decimal("12345678901234567890123456789.015")
    with pytest.raises(OutOfBounds) as refused:
        ANNUAL_RATE.check(from_percent(Decimal("100")), percent=True)
    assert "100 %" in str(refused.value)
    with pytest.raises(OutOfBounds) as refused:
        ANNUAL_RATE.check(from_percent(Decimal("5.123456")), percent=True)
    assert "4" in str(refused.value)
