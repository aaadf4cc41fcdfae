"""The IP asset registry and patent search for banks."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from market.accounts.models import Role
from market.ip import models  # noqa: F401
from market.ip.commands import import_patents_command, reindex_command, sync_command

ORDER = 20


def _blueprints():
    from market.ip.views import ip_bp

    return [ip_bp]


def __getattr__(name: str):
    """`api_blueprints`, read by the core once every area is loaded: the patent API's detail schema is made of the
    other areas' `patent_details` contributions, so market.ip.api is imported only then."""
    if name == "api_blueprints":
        from market.ip.api import blp

        return [blp]
    raise AttributeError(name)


blueprints = _blueprints()
nav = [
    ("ip.search", _l("Patent search"), {Role.BANK, Role.STAFF, Role.ENTERPRISE, Role.VALUER, Role.GUARANTOR,
                                         Role.INSURER}),
    ("ip.mine", _l("My IP assets"), {Role.ENTERPRISE}),
]
cards = [
    (Role.BANK, "ip.search", _l("Patent search"),
     _l("Search indexed patents that can serve as collateral; filter what is pledgeable now.")),
    (Role.ENTERPRISE, "ip.mine", _l("My IP assets"),
     _l("Register your patents and other IP, see what can be pledged.")),
    (Role.STAFF, "ip.bulk_import", _l("Import patents"), _l("Bulk import of CNIPA patent files (CSV or JSON Lines).")),
    (Role.BANK, "ip.saved_searches", _l("Saved searches"), LazyString(lambda: _saved_card_text())),
]


def _saved_card_text() -> str:
    from market.ip.views import saved_card_text

    return saved_card_text()
commands = [("import", import_patents_command), ("search", sync_command), ("search", reindex_command)]


def _index_lag(session) -> str:
    from market.ip.indexing import lag

    count, age = lag(session)
    if not count:
        return "0"
    minutes = int((age or 0) // 60)
    return f"{count} / {minutes} min"


panels = [(_l("Search index lag (pending changes / oldest)"), _index_lag)]


def demo_step(echo) -> None:
    from market.ip.demo import load_demo_patents

    load_demo_patents(echo)


def init_app(app) -> None:
    from market.ip import indexing, labels, pagecache

    indexing.init_app(app)
    labels.init_app(app)
    pagecache.init_app(app)
