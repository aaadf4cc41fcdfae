"""Notices to organisations, users and roles (used by loans' post-loan monitoring; any area may send them)."""

from flask_babel import lazy_gettext as _l

from market.accounts.models import Role
from market.notices import models  # noqa: F401
from market.notices.views import notices_bp

ORDER = 90
blueprints = [notices_bp]
nav = [("notices.index", _l("Notices"), set(Role))]
