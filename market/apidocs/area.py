"""API documentation and tokens for bank systems: the interactive docs page (/api/v1/docs, Swagger UI served from the
project's own files, no CDN, with a server-rendered list of operations that reads without JavaScript) and the
"API tokens" page of a user's account (create, shown once; list; revoke)."""

from flask_babel import lazy_gettext as _l

from market.accounts.models import Role
from market.apidocs.views import apidocs_bp

ORDER = 90
blueprints = [apidocs_bp]
nav = [
    ("apidocs.docs", _l("API"), None),
    ("apidocs.tokens", _l("API tokens"), set(Role)),
]
cards = [
    (None, "apidocs.tokens", _l("API tokens"),
     _l("Bearer tokens for your systems: create with scopes, see when each was last used, revoke.")),
]
