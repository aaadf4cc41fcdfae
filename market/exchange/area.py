"""The IP exchange: disposal listings of defaulted pledges and voluntary transfers, deposits, online auctions."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from market.accounts.models import Role
from market.clock import Clock
from market.exchange import (
    api_desk,  # noqa: F401  (routes on the exchange API's blueprint)
    models,  # noqa: F401
    views_staff,  # noqa: F401  (routes on exchange_bp)
)
from market.exchange.announce import bidding_start_label
from market.exchange.api import blp
from market.exchange.clock import tick
from market.exchange.commands import tick_command
from market.exchange.demo import demo_step  # noqa: F401
from market.exchange.models import Listing, ListingStatus
from market.exchange.sections import asset_sales, loan_sections, patent_sections  # noqa: F401
from market.exchange.todos import TODOS
from market.exchange.views import exchange_bp
from market.notices.service import register_param_label

ORDER = 60
blueprints = [exchange_bp]
api_blueprints = [blp]
nav = [("exchange.listings", _l("IP exchange"), None),
       ("exchange.staff_console", _l("Disposal desk"), {Role.STAFF})]
cards = [
    (Role.STAFF, "exchange.staff_console", _l("Disposal desk"),
     _l("Defaulted loans to list, lots to review, objections, payments and settlement.")),
    (Role.ENTERPRISE, "exchange.new_listing", _l("Transfer or license a patent"),
     _l("Offer your IP at the exchange by online auction.")),
    (Role.BIDDER, "exchange.my_deposits", _l("My deposits"), _l("Deposits paid, refunded and applied, lot by lot.")),
]


def _count(*statuses):
    def count(session):
        return session.scalar(select(func.count()).select_from(Listing).where(Listing.status.in_(statuses)))

    return count


panels = [
    (_l("Lots awaiting review"), _count(ListingStatus.UNDER_REVIEW)),
    (_l("Sold lots awaiting payment"), _count(ListingStatus.SOLD)),
]
commands = [("auctions", tick_command)]
todos = TODOS
# Open announced lots, close ended ones, forfeit unpaid winners: every few seconds, so a lot's page shows its result
# within seconds of its end.
clocks = [Clock("auctions", every=2, run=tick, summary=lambda c: (
    f"Auctions: {c['opened']} opened, {c['closed']} closed, {c['unpaid']} unpaid."))]


def init_app(app) -> None:
    register_param_label("starts", bidding_start_label)
