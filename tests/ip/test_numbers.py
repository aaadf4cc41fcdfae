"""CNIPA application numbers (check digit verified on every real number) and the legal term of patents."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from market.errors import InvalidInput
from market.ip import numbers
from market.ip.models import IpKind
from market.reference.loader import DATA

LEGAL = DATA / "cn-patents-sipo-legal-status-866" / "cn_patents_legal_status.csv"


def real_numbers() -> list[str]:
    with LEGAL.open(encoding="utf-8") as fh:
        return [row["application_number"] for row in csv.DictReader(fh)]


def test_all_866_real_application_numbers_validate():
    values = real_numbers()
    assert len(values) == 866
    bad = [n for n in values if not numbers.is_valid_application_number(n)]
    assert bad == []
    assert numbers.normalise_application_number("CN201710106452.1") == "2017101064521"
    assert numbers.format_application_number("2017101064521") == "CN201710106452.1"
    # rows written before numbers were normalised read the same
    assert numbers.format_application_number("202310456789.1") == "CN202310456789.1"
    assert numbers.format_application_number("CN202310456789.1") == "CN202310456789.1"
    assert numbers.normalise_application_number("CN201510641377.X") == "201510641377X"


def test_corrupted_check_digits_are_refused():
    for number in real_numbers()[:200]:
        body, check = number[:-1], number[-1]
        for wrong in "0123456789X":
            if wrong != check:
                assert not numbers.is_valid_application_number(body + wrong)
    with pytest.raises(InvalidInput):
        numbers.normalise_application_number("CN201710106452.2")
    with pytest.raises(InvalidInput):
        numbers.normalise_application_number("CN20171010645.1")


def test_old_eight_digit_form():
    check = numbers.check_character("97123456")
    assert check == "6"  # 9*2+7*3+1*4+2*5+3*6+4*7+5*8+6*9 = 193 ≡ 6 (mod 11)
    assert numbers.normalise_application_number(f"97123456.{check}") == "971234566"
    assert not numbers.is_valid_application_number("97123456.X")
    # a body whose weighted sum leaves 10 gets "X"
    body = next(f"{n:08d}" for n in range(10_000_000, 10_100_000) if numbers.check_character(f"{n:08d}") == "X")
    assert numbers.is_valid_application_number(body + ".X")


def test_kind_from_number():
    assert numbers.kind_from_application_number("2017101064521") is IpKind.INVENTION
    assert numbers.kind_from_application_number(numbers.normalise_application_number("CN201220746928.0")) \
        is IpKind.UTILITY_MODEL


@pytest.mark.parametrize("kind, filed, today, years_left", [
    (IpKind.INVENTION, date(2017, 2, 27), date(2026, 11, 28), 10.25),
    (IpKind.UTILITY_MODEL, date(2012, 12, 31), date(2026, 11, 28), 0.0),
    (IpKind.DESIGN, date(2021, 5, 31), date(2026, 5, 31), 5.0),  # before 2021-06-01: 10 years
    (IpKind.DESIGN, date(2021, 6, 1), date(2026, 6, 1), 10.0),  # from 2021-06-01: 15 years
])
def test_remaining_life(kind, filed, today, years_left):
    assert numbers.remaining_years(kind, filed, today) == pytest.approx(years_left, abs=0.01)


def test_design_term_changes_on_2021_06_01():
    assert numbers.expiry_date(IpKind.DESIGN, date(2021, 5, 31)) == date(2031, 5, 31)
    assert numbers.expiry_date(IpKind.DESIGN, date(2021, 6, 1)) == date(2036, 6, 1)
    assert numbers.remaining_months(IpKind.INVENTION, date(2020, 1, 15), date(2039, 12, 14)) == 1
    assert numbers.remaining_months(IpKind.INVENTION, None, date(2020, 1, 1)) is None
    assert numbers.expiry_date(IpKind.INVENTION, date(2020, 2, 29)) == date(2040, 2, 29)
    assert numbers.expiry_date(IpKind.UTILITY_MODEL, date(2020, 2, 29)) == date(2030, 2, 28)
