"""Translatable labels of the IP enums (Jinja filters and facet labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from market.ip.models import IpKind, LegalStatus, PledgeState

KIND_LABELS = {
    IpKind.INVENTION: _l("Invention patent"),
    IpKind.UTILITY_MODEL: _l("Utility model"),
    IpKind.DESIGN: _l("Design patent"),
    IpKind.IC_LAYOUT: _l("IC layout design"),
    IpKind.TRADEMARK: _l("Trademark"),
    IpKind.COPYRIGHT: _l("Copyright"),
    IpKind.TRADE_SECRET: _l("Trade secret"),
    IpKind.LICENCE: _l("Licence"),
}
STATUS_LABELS = {
    LegalStatus.APPLICATION: _l("Application (not yet granted)"),
    LegalStatus.GRANTED: _l("Granted, in force"),
    LegalStatus.LAPSED: _l("Lapsed"),
    LegalStatus.INVALIDATED: _l("Invalidated"),
    LegalStatus.EXPIRED: _l("Expired"),
    LegalStatus.REJECTED: _l("Rejected"),
    LegalStatus.WITHDRAWN: _l("Withdrawn"),
    LegalStatus.UNKNOWN: _l("Unknown"),
}
PLEDGE_LABELS = {
    PledgeState.FREE: _l("Not pledged"),
    PledgeState.PLEDGED: _l("Pledged"),
    PledgeState.IN_DISPOSAL: _l("In disposal"),
}
VALUE_BAND_LABELS = {
    "lt1m": _l("Under ¥1 million"),
    "1m-5m": _l("¥1–5 million"),
    "5m-10m": _l("¥5–10 million"),
    "10m+": _l("¥10 million or more"),
}
BAND_LABELS = {
    "unknown": _l("Unknown"),
    "0": _l("Expired"),
    "0-3": _l("Under 3 years"),
    "3-5": _l("3–5 years"),
    "5-10": _l("5–10 years"),
    "10+": _l("10 years or more"),
}


def _get(mapping, cls, value):
    try:
        return mapping.get(cls(value), value)
    except ValueError:
        return value


def kind_label(value):
    return _get(KIND_LABELS, IpKind, value)


def status_label(value):
    return _get(STATUS_LABELS, LegalStatus, value)


def pledge_label(value):
    return _get(PLEDGE_LABELS, PledgeState, value)


def init_app(app) -> None:
    from market.ip.numbers import format_application_number

    app.jinja_env.filters.update(
        ip_kind_label=kind_label, ip_status_label=status_label, ip_pledge_label=pledge_label,
        application_number=format_application_number,
    )
