"""Notices to organisations, users and roles (any area may send them), the header's unread count and the
workspace's to-do list (areas contribute `todos`)."""

from flask import g
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from market.accounts.models import Role
from market.notices import models  # noqa: F401
from market.notices.views import notices_bp

ORDER = 90
blueprints = [notices_bp]
nav = [("notices.index", _l("Notices"), set(Role))]


def unread_notices() -> int:
    """The signed-in user's unread notices: one COUNT query, kept for the rest of the request."""
    if not current_user.is_authenticated:
        return 0
    if "_unread_notices" not in g:
        from market.db import db
        from market.notices.service import unread_count

        g._unread_notices = unread_count(db.session, current_user)
    return g._unread_notices


def workspace_todos():
    from market.db import db, utcnow
    from market.notices.service import todos_for

    return todos_for(db.session, current_user, utcnow())


def init_app(app) -> None:
    from market.i18n import money
    from market.notices.service import register_param_label

    app.jinja_env.globals.update(unread_notices=unread_notices, workspace_todos=workspace_todos)
    register_param_label("amount", money)
    register_param_label("due", _when_text)


def _when_text(value: str) -> str:
    from datetime import datetime

    from market.i18n import when

    try:
        return when(datetime.fromisoformat(value))
    except ValueError:
        return value
