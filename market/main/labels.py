"""Translatable labels of enum values, as Jinja filters, and the role-aware navigation."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from market.accounts.models import OrgKind, OrgStatus, Role
from market.accounts.service import people_named
from market.db import db
from market.reference.choices import industry_group_names

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


def nav_items_uncached() -> list[dict]:
    """The navigation built the straightforward way (every URL built and every label translated on each call);
    kept as the reference the cached `nav_items` is tested against."""
    role = current_user.role if current_user.is_authenticated else None
    items = []
    from market.areas import collect

    path = request.path
    for endpoint, label, roles in NAV[:1] + collect("nav") + NAV[1:]:
        if roles is None or (role is not None and role in roles):
            url = url_for(endpoint)
            items.append({"url": url, "label": label, "active": path.startswith(url) and url != "/"})
    return items


def _nav_entries(role) -> tuple[tuple[str, Markup], ...]:
    """(url, translated label) of the role's nav items, cached per app, role, script root and locale.

    The URLs take no arguments, so they depend only on the app's URL map and the script root; the labels only on
    the locale (the catalogs are compiled once at start). A lazy label renders unescaped (LazyString.__html__), so
    the cached label is Markup of the same text: the HTML stays the same."""
    locale = str(get_locale())
    key = (role, request.script_root, locale)
    cache = current_app.extensions.setdefault("market.nav", {})
    entries = cache.get(key)
    if entries is None:
        from market.areas import collect

        entries = tuple(
            (url_for(endpoint), Markup(str(label)))
            for endpoint, label, roles in NAV[:1] + collect("nav") + NAV[1:]
            if roles is None or (role is not None and role in roles)
        )
        cache[key] = entries
    return entries


def nav_items() -> list[dict]:
    """The nav of this request: built once per request from the per-app cache, `request.path` read once."""
    req = request._get_current_object()
    cached = g.get("_market_nav")
    if cached is not None and cached[0] is req:
        return cached[1]
    role = current_user.role if current_user.is_authenticated else None
    path = req.path
    items = [{"url": url, "label": label, "active": path.startswith(url) and url != "/"}
             for url, label in _nav_entries(role)]
    g._market_nav = (req, items)
    return items


def layout_url(endpoint: str, **values) -> str:
    """url_for for the layout's fixed links (static files, footer, log-in and language forms), cached per app and
    script root: relative URLs of these rules depend on nothing else."""
    if not has_request_context():
        return url_for(endpoint, **values)
    key = (endpoint, request.script_root, *sorted(values.items()))
    cache = current_app.extensions.setdefault("market.layout_urls", {})
    url = cache.get(key)
    if url is None:
        url = cache[key] = url_for(endpoint, **values)
    return url


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


def _industry_group_names() -> dict[str, str]:
    """The industry groups by name, read once per request (the audit log asks for each value it shows)."""
    if "industry_group_names" not in g:
        g.industry_group_names = industry_group_names(db.session)
    return g.industry_group_names


def init_app(app) -> None:
    app.jinja_env.filters.update(
        role_label=lambda v: ROLE_LABELS.get(Role(v), v),
        org_kind_label=lambda v: ORG_KIND_LABELS.get(OrgKind(v), v),
        org_status_label=lambda v: ORG_STATUS_LABELS.get(OrgStatus(v), v),
    )
    app.jinja_env.globals.update(
        nav_items=nav_items, layout_url=layout_url, workspace_cards=workspace_cards, audit_changes=audit_changes,
        people_named=lambda entries: people_named(db.session, [e.actor_id for e in entries]),
        industry_group_names=_industry_group_names,
    )


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
