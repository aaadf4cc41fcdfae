"""Translatable labels of the IP enums (Jinja filters and facet labels)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from market.i18n import enum_label, when
from market.ip.models import IpKind, LegalStatus, PledgeState
from market.ip.numbers import format_application_number

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


def kind_label(value):
    return enum_label(KIND_LABELS, IpKind, value)


def status_label(value):
    return enum_label(STATUS_LABELS, LegalStatus, value)


def pledge_label(value):
    return enum_label(PLEDGE_LABELS, PledgeState, value)


# The audit actions an IP asset's change history shows, in words (other codes are shown as codes).
AUDIT_ACTION_LABELS = {
    "ip.registered": _l("Registered by its owner"),
    "ip.imported": _l("Imported"),
    "ip.reimported": _l("Imported again"),
    "ip.updated": _l("Details changed"),
    "ip_asset.pledged": _l("Pledged for a loan"),
    "ip_asset.released": _l("Pledge released"),
    "ip_asset.in_disposal": _l("Put up for disposal"),
    "ip_asset.withdrawn_from_disposal": _l("Withdrawn from disposal (its lot was cancelled)"),
    "ip_asset.transferred": _l("Transferred after disposal"),
    "pledge.released_by_disposal": _l("Pledge released by the disposal"),
}


def audit_action_label(action: str):
    return AUDIT_ACTION_LABELS.get(action)


def iso_date(value):
    """An ISO date string (as the search items carry them) shown like every other date of the page."""
    return when(date.fromisoformat(value)) if value else "—"


def init_app(app) -> None:
    app.jinja_env.filters.update(
        ip_kind_label=kind_label, ip_status_label=status_label, ip_pledge_label=pledge_label,
        application_number=format_application_number, ip_audit_action=audit_action_label,
        ip_date=iso_date,
    )


# Titles of the search page's facets and sort options (looked up once per rendering, not once per value).
FACET_TITLES = {
    "ipc_section": _l("IPC section"), "ipc_class": _l("IPC class"), "ipc_subclass": _l("IPC subclass"),
    "kind": _l("Kind"), "legal_status": _l("Legal status"), "pledge_state": _l("Pledge state"),
    "life_band": _l("Remaining life"), "value_band": _l("Valuation"), "district": _l("District"),
    "industry": _l("Industry"), "owner": _l("Owner"),
}
SORT_LABELS = {
    "relevance": _l("Relevance"), "life": _l("Longest remaining life"), "life_asc": _l("Shortest remaining life"),
    "date": _l("Newest filing"), "date_asc": _l("Oldest filing"), "value": _l("Highest valuation"),
    "value_asc": _l("Lowest valuation"),
}


class LabelMemo:
    """Enum labels translated once per distinct value during one rendering (20 rows share a handful)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, value: str) -> str:
        key = (kind, value)
        label = self._seen.get(key)
        if label is None:
            fn = {"kind": kind_label, "status": status_label, "pledge": pledge_label}[kind]
            label = self._seen[key] = str(fn(value))
        return label
