"""Flask extensions, created unbound here and bound to the app with `init_app` in the factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_talisman import Talisman
from flask_wtf import CSRFProtect

from market.db import db

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
talisman = Talisman()


class MarketApi(Api):
    def _register_error_handlers(self):
        """Errors are rendered app-wide by market.web as {"error": {...}}; nothing to register here."""


api = MarketApi()

__all__ = ["db", "login_manager", "csrf", "babel", "limiter", "talisman", "api"]
