"""Translatable labels of enum values, as Jinja filters, and the role-aware navigation."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from market.accounts.models import OrgKind, OrgStatus, Role

ROLE_LABELS = {
    Role.ENTERPRISE: _l("Enterprise"),
    Role.BANK: _l("Bank"),
    Role.BIDDER: _l("Bidder"),
    Role.STAFF: _l("Exchange staff"),
    Role.VALUER: _l("Valuer"),
    Role.GUARANTOR: _l("Guarantor"),
    Role.INSURER: _l("Insurer"),
}
ORG_KIND_LABELS = {
    OrgKind.ENTERPRISE: _l("Enterprise"),
    OrgKind.BANK: _l("Bank"),
    OrgKind.VALUATION_AGENCY: _l("Valuation agency"),
    OrgKind.GUARANTOR: _l("Guarantor"),
    OrgKind.INSURER: _l("Insurer"),
    OrgKind.EXCHANGE: _l("Exchange"),
    OrgKind.INVESTOR: _l("Investor"),
}
ORG_STATUS_LABELS = {
    OrgStatus.PENDING: _l("Awaiting verification"),
    OrgStatus.VERIFIED: _l("Verified"),
    OrgStatus.REJECTED: _l("Rejected"),
    OrgStatus.SUSPENDED: _l("Suspended"),
}

# (endpoint, label, roles or None for everyone) — areas append their entries.
NAV: list[tuple[str, object, set[Role] | None]] = [
    ("main.workspace", _l("My workspace"), set(Role)),
    ("orgs.profile", _l("Organisation"), set(Role) - {Role.BIDDER}),
    ("staff.console", _l("Staff console"), {Role.STAFF}),
    ("staff.audit", _l("Audit log"), {Role.STAFF}),
]


def nav_items() -> list[dict]:
    role = current_user.role if current_user.is_authenticated else None
    items = []
    from market.areas import collect

    for endpoint, label, roles in NAV[:1] + collect("nav") + NAV[1:]:
        if roles is None or (role is not None and role in roles):
            items.append({"url": url_for(endpoint), "label": label})
    return items


def audit_changes(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """The fields an audit entry changed, as (field, before, after); a creation lists every field it set."""
    before, after = before or {}, after or {}
    keys = list(after) + [k for k in before if k not in after]
    return [(k, before.get(k), after.get(k)) for k in keys if not _same(before.get(k), after.get(k))]


def _same(a, b) -> bool:
    """Equal values, counting "840000" and "840000.00" (amounts recorded before and after a flush) as the same."""
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        from decimal import Decimal, InvalidOperation

        try:
            return Decimal(a) == Decimal(b)
        except InvalidOperation:
            return False
    return False


def init_app(app) -> None:
    app.jinja_env.filters.update(
        role_label=lambda v: ROLE_LABELS.get(Role(v), v),
        org_kind_label=lambda v: ORG_KIND_LABELS.get(OrgKind(v), v),
        org_status_label=lambda v: ORG_STATUS_LABELS.get(OrgStatus(v), v),
    )
    app.jinja_env.globals.update(nav_items=nav_items, workspace_cards=workspace_cards, audit_changes=audit_changes)


# (role or None for all, endpoint, title, text) — areas append cards for the roles they serve.
WORKSPACE_CARDS: list[tuple[Role | None, str, object, object]] = [
    (Role.STAFF, "staff.organisations", _l("Verification queue"), _l("Verify organisations before they can act.")),
    (Role.STAFF, "staff.audit", _l("Audit log"), _l("Every state change with actor, time, before and after.")),
    (None, "orgs.profile", _l("Organisation profile"), _l("Name, credit code, district, industry and contacts.")),
    (None, "auth.password", _l("Change password"), _l("Other sessions are logged out when you change it.")),
]


def workspace_cards(role: str) -> list[dict]:
    cards = []
    from market.areas import collect

    for card_role, endpoint, title, text in collect("cards") + WORKSPACE_CARDS:
        if card_role is not None and card_role.value != role:
            continue
        if endpoint == "orgs.profile" and role == Role.BIDDER.value and not current_user.organisation:
            continue
        cards.append({"url": url_for(endpoint), "title": title, "text": text})
    return cards
