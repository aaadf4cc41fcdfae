"""The UI is Chinese first: every translatable string has a zh_CN translation, and amounts read as people expect."""

from __future__ import annotations

from decimal import Decimal

import pytest

from market.devtools import missing_translations
from market.i18n import merged_catalog, money


def test_every_message_has_a_chinese_translation():
    missing = missing_translations("zh_CN")
    assert not missing, "\n".join(f"{m!r} used at {where[0]}" for m, where in sorted(missing.items()))


def test_no_message_is_translated_two_ways():
    """The areas' .po files are merged into one catalog where a later file silently wins: a msgid that two areas
    translate differently would show one area's wording on the other's pages."""
    from babel.messages.pofile import read_po

    from market.i18n import TRANSLATIONS

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted((TRANSLATIONS / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale="zh_CN"):
                if not (message.id and message.string):
                    continue
                first = seen.setdefault(str(message.id), (path.name, str(message.string)))
                if first[1] != message.string:
                    clashes.append(f"{message.id!r}: {first[0]} {first[1]!r} vs {path.name} {message.string!r}")
    assert not clashes, "\n".join(clashes)


def test_placeholders_survive_translation():
    import re

    pattern = re.compile(r"%\((\w+)\)s")
    for message in merged_catalog("zh_CN"):
        if message.id and message.string:
            assert set(pattern.findall(message.id)) == set(pattern.findall(message.string)), message.id


@pytest.mark.parametrize(
    "locale, amount, shown",
    [
        ("zh_CN", "1500000", "¥150万"),
        ("zh_CN", "2060000000", "¥20.6亿"),
        ("zh_CN", "25000000", "¥2500万"),
        ("zh_CN", "9999.5", "¥9,999.50"),
        ("en", "1500000", "¥1.5M"),
        ("en", "2060000000", "¥2.06B"),
    ],
)
def test_money_is_shown_with_wan_and_yi(app, locale, amount, shown):
    with app.test_request_context():
        from flask import session

        session["locale"] = locale
        assert money(Decimal(amount)) == shown
