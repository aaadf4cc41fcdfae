"""The financing-needs database (融资需求动态数据库): needs, moderation, classification, bank products,
matching and docking, escalation and the periodic bulletin."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from market.accounts.models import Role
from market.clock import Clock
from market.needs import labels, models  # noqa: F401
from market.needs.commands import bulletin_publish_command, clock, needs_group, reindex_needs_command
from market.needs.demo import demo_step  # noqa: F401
from market.needs.models import Need, NeedStatus
from market.needs.todos import TODOS
from market.needs.views import bulletin_bp, needs_bp

ORDER = 40

blueprints = [needs_bp, bulletin_bp]


def __getattr__(name: str):
    """`api_blueprints`, read by the core once every area is loaded: the need API's detail schema is made of the
    other areas' `need_details` contributions, so market.needs.api is imported only then."""
    if name == "api_blueprints":
        from market.needs.api import blp

        return [blp]
    raise AttributeError(name)


nav = [
    ("needs.browse_page", _l("Financing needs"), {Role.BANK, Role.STAFF, Role.ENTERPRISE, Role.GUARANTOR,
                                                  Role.INSURER, Role.VALUER}),
    ("needs.mine", _l("My needs"), {Role.ENTERPRISE}),
    ("needs.bank_matches", _l("Matched needs"), {Role.BANK}),
    ("needs.review_queue", _l("Needs to review"), {Role.STAFF}),
    ("bulletins.bulletins", _l("Bulletins"), None),
]

cards = [
    (Role.ENTERPRISE, "needs.new", _l("Post a financing need"),
     _l("Amount, term, highest rate and the patents you pledge; the exchange reviews and publishes it.")),
    (Role.ENTERPRISE, "needs.mine", _l("My financing needs"), _l("Status, reasons, bank interest and offers.")),
    (Role.BANK, "needs.bank_matches", _l("Needs for your bank"),
     _l("Published needs ranked by how well they fit your loan products, with reasons.")),
    (Role.BANK, "needs.products", _l("Your loan products"),
     _l("Amount, term and rate ranges, accepted IP kinds, target industries, loan-to-value.")),
    (Role.STAFF, "needs.review_queue", _l("Needs to review"),
     _l("Check and publish submitted needs, or return them with reasons; escalated needs.")),
]


def _count(*statuses):
    return lambda session: session.scalar(select(func.count()).select_from(Need).where(Need.status.in_(statuses)))


def _escalated(session):
    return session.scalar(select(func.count()).select_from(Need).where(
        Need.escalated_at.is_not(None), Need.status == NeedStatus.PUBLISHED))


counters = [
    ("needs_published", _l("Published financing needs"), _count(NeedStatus.PUBLISHED, NeedStatus.IN_TALKS)),
]

panels = [
    (_l("Needs awaiting review"), _count(NeedStatus.SUBMITTED)),
    (_l("Needs escalated (no bank response)"), _escalated),
]

todos = TODOS

commands = [(None, needs_group), ("bulletin", bulletin_publish_command), ("search", reindex_needs_command)]
clocks = [Clock("needs", every=3600, run=clock, summary=lambda c: (
    f"Escalated {c['escalated']} need(s); expired {c['expired']} need(s); "
    f"needs index: {c['indexed']} changes applied, {c['index_waiting']} waiting."))]


def init_app(app):
    app.config.setdefault("NEEDS_RESPONSE_WORKING_DAYS", 5)
    app.config.setdefault("NEEDS_EXPIRY_DAYS", 180)
    labels.init_app(app)
