"""The IP asset registry and patent search for banks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from market.ip import models  # noqa: F401
from market.ip.commands import import_patents_command, reindex_command, sync_command

ORDER = 20

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
    from market.ip import indexing, labels

    indexing.init_app(app)
    labels.init_app(app)
