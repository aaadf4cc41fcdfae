"""The IP exchange: disposal listings of defaulted pledges and voluntary transfers, deposits, online auctions."""

from flask_babel import lazy_gettext as _l

from market.exchange import models  # noqa: F401
from market.exchange.api import blp
from market.exchange.commands import tick_command
from market.exchange.demo import demo_step  # noqa: F401
from market.exchange.views import exchange_bp

ORDER = 60
blueprints = [exchange_bp]
api_blueprints = [blp]
nav = [("exchange.listings", _l("IP exchange"), None)]
commands = [("auctions", tick_command)]
