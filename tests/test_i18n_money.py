"""Amounts with a sign: the minus goes before the currency sign (-¥140,000.00), in both languages and both forms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from market.i18n import money, money_exact


def _in(app, locale, fn, *args):
    with app.test_request_context():
        from flask import session

        session["locale"] = locale
        return fn(*args)


@pytest.mark.parametrize(
    "locale, amount, shown",
    [
        ("zh_CN", "-140000", "-¥140,000.00"),
        ("en", "-140000", "-¥140,000.00"),
        ("zh_CN", "-0.50", "-¥0.50"),
        ("en", "-1234567.89", "-¥1,234,567.89"),
        ("zh_CN", "140000", "¥140,000.00"),
        ("zh_CN", "0", "¥0.00"),
        ("zh_CN", "-0.00", "¥0.00"),  # a negative zero shows no sign
        ("zh_CN", "-0.001", "¥0.00"),  # nor does an amount that rounds to zero
    ],
)
def test_money_exact_puts_the_minus_before_the_currency_sign(app, locale, amount, shown):
    assert _in(app, locale, money_exact, Decimal(amount)) == shown


@pytest.mark.parametrize(
    "locale, amount, shown",
    [
        ("zh_CN", "-140000", "-¥14万"),
        ("zh_CN", "-1500000", "-¥150万"),
        ("zh_CN", "-2060000000", "-¥20.6亿"),
        ("en", "-140000", "-¥140K"),
        ("en", "-2060000000", "-¥2.06B"),
        ("zh_CN", "-9999.5", "-¥9,999.50"),  # below 10,000 the exact form, signed the same way
        ("en", "-9999.5", "-¥9,999.50"),
        ("zh_CN", "1500000", "¥150万"),
        ("en", "140000", "¥140K"),
    ],
)
def test_compact_money_puts_the_minus_before_the_currency_sign(app, locale, amount, shown):
    assert _in(app, locale, money, Decimal(amount)) == shown


def test_exact_form_of_money_is_signed_too(app):
    assert _in(app, "en", money, Decimal("-140000"), False) == "-¥140,000.00"
    assert _in(app, "zh_CN", money, "-25000000") == "-¥2500万"  # strings are amounts too
