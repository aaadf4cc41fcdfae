"""Languages: Chinese first, English on a switch remembered per user; money shown with 万/亿 where people expect it.

Translations live as one .po file per area under translations/zh_CN/LC_MESSAGES/; they are merged and compiled
into messages.mo when the app starts and any .po is newer, so no build step is needed after a checkout.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_decimal
from flask import current_app, g, request, session
from flask_babel import format_date, format_datetime, get_locale, get_translations
from flask_login import current_user

TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def merged_catalog(locale: str) -> Catalog:
    """All areas' .po files for one locale merged into one catalog (later files must not redefine a message)."""
    catalog = Catalog(locale=locale, domain="messages")
    for po_path in sorted((TRANSLATIONS / locale / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as fh:
            part = read_po(fh, locale=locale)
        for message in part:
            if message.id and message.string:
                catalog[message.id] = message
    return catalog


def compile_translations() -> None:
    """Compile each locale's merged catalog to messages.mo if missing or older than any .po file.

    Babel resolves "zh_CN" to zh_Hans_CN, which gettext expands to zh_Hans_CN and zh (not zh_CN), so the
    compiled catalog is written under the language code alone (translations/zh/LC_MESSAGES/messages.mo).
    """
    for locale_dir in TRANSLATIONS.iterdir():
        po_files = list((locale_dir / "LC_MESSAGES").glob("*.po"))
        if not po_files:
            continue
        out_dir = TRANSLATIONS / locale_dir.name.split("_")[0] / "LC_MESSAGES"
        out_dir.mkdir(parents=True, exist_ok=True)
        mo_path = out_dir / "messages.mo"
        newest = max(p.stat().st_mtime for p in po_files)
        if mo_path.exists() and mo_path.stat().st_mtime >= newest:
            continue
        tmp = mo_path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, merged_catalog(locale_dir.name))
        tmp.replace(mo_path)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if request and request.path.startswith("/api/") and not request.path.startswith("/api/v1/docs"):
        return _api_locale(languages)
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale") if request else None
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _api_locale(languages) -> str:
    """An API client's language: its Accept-Language header when it sends one, else the token owner's saved
    language, else the default (Chinese)."""
    if request.accept_languages:
        # Header tags use hyphens (zh-CN); the catalog names use underscores.
        offered = {code.replace("_", "-").lower(): code for code in languages}
        offered.update({code.split("_")[0].lower(): code for code in languages})
        for tag, _quality in request.accept_languages:
            tag = tag.lower()
            if tag in offered:
                return offered[tag]
            if tag.split("-")[0] in offered:
                return offered[tag.split("-")[0]]
    token = g.get("api_token")
    if token is not None and token.user.locale in languages:
        return token.user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def to_decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _signed(amount: Decimal, text: str) -> str:
    """"¥" after the minus sign of a negative amount (-¥140,000.00, never ¥-140,000.00); an amount that rounds to
    zero shows no sign. `text` is the locale's rendering of abs(amount)."""
    negative = amount < 0 and any(ch in "123456789" for ch in text)
    return ("-¥" if negative else "¥") + text


def money(value, compact: bool = True) -> str:
    """¥ amount for people: 150万 / 2.06亿 in Chinese, 1.5M / 2.06B in English; exact below 10,000; a negative
    amount as -¥140,000.00 / -¥14万."""
    amount = to_decimal(value)
    if amount is None:
        return "—"
    locale = str(get_locale() or "zh_CN")
    if compact and abs(amount) >= 10000:
        return _signed(amount, format_compact_decimal(abs(amount), locale=locale, fraction_digits=2))
    return _signed(amount, format_decimal(abs(amount), format="#,##0.00", locale=locale))


def money_exact(value) -> str:
    amount = to_decimal(value)
    if amount is None:
        return "—"
    return _signed(amount, format_decimal(abs(amount), format="#,##0.00", locale=str(get_locale() or "zh_CN")))


def percent(value, digits: int = 2) -> str:
    amount = to_decimal(value)
    if amount is None:
        return "—"
    return f"{(amount * 100).quantize(Decimal(1).scaleb(-digits))}%"


def enum_label(labels: dict, enum_cls, value):
    """The translatable label of an enum value (a member or its string) in `labels`; the value itself when it is no
    member of `enum_cls` or has no label."""
    try:
        return labels.get(enum_cls(value), value)
    except ValueError:
        return value


def when(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_datetime(value, "medium")
    if isinstance(value, date):
        return format_date(value, "medium")
    return str(value)


def request_translations():
    """flask-babel's translations object for the current locale, looked up once per locale of a request.

    `flask_babel.get_translations()` resolves the domain, the locale and a cache key (`str(locale)`) on every call
    (≈ 10 µs); this keeps the result in flask-babel's own per-request namespace next to the locale it was made
    for, so `refresh()` and `force_locale()` (which replace that locale object) are still followed."""
    try:
        request_globals = g._get_current_object()  # one proxy lookup, then plain attribute access
    except RuntimeError:  # no app context: flask-babel's own answer (NullTranslations)
        return get_translations()
    ctx = request_globals.__dict__.get("_flask_babel")
    if ctx is not None:
        cached = ctx.__dict__.get("market_translations")
        locale = ctx.__dict__.get("babel_locale")
        if cached is not None and locale is not None and cached[0] is locale and cached[1] is ctx.babel_domain:
            return cached[2]
    translations = get_translations()  # sets babel_locale and babel_domain on the namespace
    ctx = request_globals._flask_babel
    ctx.market_translations = (ctx.babel_locale, ctx.babel_domain, translations)
    return translations


def _jinja_gettext(string):
    return request_translations().ugettext(string)


def _jinja_ngettext(singular, plural, n):
    return request_translations().ungettext(singular, plural, n)


def _jinja_pgettext(context, string):
    return request_translations().upgettext(context, string)


def _jinja_npgettext(context, singular, plural, n):
    return request_translations().unpgettext(context, singular, plural, n)


def install_jinja_gettext(app) -> None:
    """The same callables flask-babel installs (Jinja's newstyle wrapper keeps the %-formatting with keyword
    arguments and the autoescaping), but reading the translations once per request."""
    app.jinja_env.install_gettext_callables(
        gettext=_jinja_gettext,
        ngettext=_jinja_ngettext,
        newstyle=True,
        pgettext=_jinja_pgettext,
        npgettext=_jinja_npgettext,
    )


def message(msgid: str, params: dict | None = None) -> str:
    """A stored English msgid (a refusal or a reason kept with its parameters) in the reader's language. Formatted
    only when it has parameters, as in Python (`DomainError.localized`): Jinja's `_` always %-formats, so a stored
    message's "100 %" would break the page."""
    text = request_translations().ugettext(msgid)
    return text % params if params else text


def init_app(app) -> None:
    compile_translations()
    install_jinja_gettext(app)
    app.jinja_env.filters.update(money=money, money_exact=money_exact, percent=percent, when=when, message=message)
    app.jinja_env.globals.update(LANGUAGE_NAMES=LANGUAGE_NAMES)
