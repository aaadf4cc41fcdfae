"""CNIPA patent numbers (application and publication) and the legal term of a patent.

Application numbers (申请号):
* since 1 October 2003: 12 digits ``YYYY T NNNNNNN`` (year, type 1 invention / 2 utility model / 3 design /
  8 PCT invention / 9 PCT utility model, serial) + ``.`` + check character, e.g. ``CN201710106452.1``;
* 1985–2003: 8 digits ``YY T NNNNN`` + ``.`` + check character, e.g. ``97123456.6``.

The check character: the digits weighted 2,3,4,5,6,7,8,9,2,3,4,5 (12 digits) or 2..9 (8 digits), summed, modulo
11; a remainder of 10 is written ``X``. Checked against all 866 real numbers in
``market/data/cn-patents-sipo-legal-status-866``. Stored normalised without ``CN`` and dot: ``2017101064521``.
"""

from __future__ import annotations

import re
from datetime import date

from market.errors import InvalidInput
from market.ip.models import IpKind

WEIGHTS_12 = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
WEIGHTS_8 = (2, 3, 4, 5, 6, 7, 8, 9)
_APPLICATION = re.compile(r"^(?:CN|ZL)?(\d{12}|\d{8})\.?([0-9X])$")
_PUBLICATION = re.compile(r"^CN(\d{6,9})([ABCUSY]\d?)$")

# Legal term in years from the filing date (Patent Law art. 42; designs 15 years for filings from 2021-06-01).
DESIGN_15_YEARS_FROM = date(2021, 6, 1)


def check_character(digits: str) -> str:
    """The check character of the 12- or 8-digit body of an application number."""
    if not digits.isdigit() or len(digits) not in (8, 12):
        raise ValueError("an application number body has 8 or 12 digits")
    weights = WEIGHTS_12 if len(digits) == 12 else WEIGHTS_8
    rest = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "X" if rest == 10 else str(rest)


def _clean(text: str) -> str:
    return re.sub(r"[\s\u3000]", "", text or "").upper().replace("．", ".")


def normalise_application_number(text: str) -> str:
    """``CN201710106452.1`` → ``2017101064521``; raises InvalidInput when malformed or the check fails."""
    match = _APPLICATION.match(_clean(text))
    if not match:
        raise InvalidInput("The application number %(number)s is not a CNIPA application number.", number=text)
    digits, check = match.groups()
    if check_character(digits) != check:
        raise InvalidInput("The check digit of application number %(number)s is wrong.", number=text)
    return digits + check


def is_valid_application_number(text: str) -> bool:
    try:
        normalise_application_number(text)
    except InvalidInput:
        return False
    return True


def format_application_number(normalised: str | None) -> str:
    """``2017101064521`` → ``CN201710106452.1`` (the form people read)."""
    if not normalised:
        return ""
    digits = _clean(normalised).removeprefix("CN").replace(".", "")  # rows written before normalisation
    return f"CN{digits[:-1]}.{digits[-1]}" if digits else ""


def normalise_publication_number(text: str) -> str:
    """``cn114081026a`` → ``CN114081026A``; raises InvalidInput when it is not a CN publication number."""
    value = _clean(text)
    if not _PUBLICATION.match(value):
        raise InvalidInput("The publication number %(number)s is not a CN publication number.", number=text)
    return value


def kind_from_application_number(normalised: str) -> IpKind | None:
    """The patent type written in the number (12-digit: 5th digit; 8-digit: 3rd digit)."""
    digit = normalised[4] if len(normalised) == 13 else normalised[2]
    return {"1": IpKind.INVENTION, "8": IpKind.INVENTION, "2": IpKind.UTILITY_MODEL, "9": IpKind.UTILITY_MODEL,
            "3": IpKind.DESIGN}.get(digit)


def term_years(kind: IpKind, filing_date: date) -> int | None:
    """Legal term of a patent (or IC layout design: 10 years) in years; None for kinds without a fixed term here."""
    if kind is IpKind.INVENTION:
        return 20
    if kind is IpKind.UTILITY_MODEL:
        return 10
    if kind is IpKind.DESIGN:
        return 15 if filing_date >= DESIGN_15_YEARS_FROM else 10
    if kind is IpKind.IC_LAYOUT:
        return 10
    return None


def expiry_date(kind: IpKind, filing_date: date | None) -> date | None:
    """The day the term ends (the same calendar day, `years` later; 29 Feb → 28 Feb)."""
    if filing_date is None:
        return None
    years = term_years(kind, filing_date)
    if years is None:
        return None
    try:
        return filing_date.replace(year=filing_date.year + years)
    except ValueError:
        return filing_date.replace(year=filing_date.year + years, day=28)


def remaining_months(kind: IpKind, filing_date: date | None, today: date) -> int | None:
    """Whole months left until expiry on `today` (0 when expired), None when unknown."""
    end = expiry_date(kind, filing_date)
    if end is None:
        return None
    if end <= today:
        return 0
    months = (end.year - today.year) * 12 + (end.month - today.month)
    if end.day < today.day:
        months -= 1
    return max(months, 0)


def remaining_years(kind: IpKind, filing_date: date | None, today: date) -> float | None:
    """Years left (days / 365.25, two decimals), 0 when expired, None when unknown."""
    end = expiry_date(kind, filing_date)
    if end is None:
        return None
    return round(max((end - today).days, 0) / 365.25, 2)
