"""Loans: the policy engine and plan calculator, loans with pledges, repayments, post-loan monitoring,
compensation claims and the fund ledger."""

from flask_babel import lazy_gettext as _l

from market.accounts.models import Role
from market.clock import Clock
from market.loans import (
    labels,
    models,  # noqa: F401
)
from market.loans.access import LOAN_READERS
from market.loans.api import blp
from market.loans.demo import demo_step  # noqa: F401
from market.loans.fund import pay_queue
from market.loans.grants_api import blp as grants_api
from market.loans.grants_views import grants_bp
from market.loans.need_sections import need_asset_columns, need_details, need_sections, offer_loans  # noqa: F401
from market.loans.sections import asset_lenders, patent_details, patent_sections  # noqa: F401
from market.loans.todos import TODOS
from market.loans.views import loans_bp
from market.loans.watch import tick
from market.notices.service import register_param_label

ORDER = 50  # after needs (40): the demo step signs loans from the demo needs' offers
blueprints = [loans_bp, grants_bp]
api_blueprints = [blp, grants_api]
todos = TODOS


def _clock(session, now):
    """Overdue loans, watch flags, then the waiting compensation claims the fund can now pay."""
    counts = tick(session, now.date(), now)
    counts["claims_paid"] = pay_queue(session, now)
    return counts


clocks = [Clock("loans", every=300, run=_clock,
                summary=lambda c: "Loans: " + ", ".join(f"{k}: {v}" for k, v in c.items()))]
nav = [
    ("loans.plans", _l("Financing plans"), None),
    ("loans.index", _l("Loans"), set(LOAN_READERS)),
    ("loans.claims", _l("Compensation claims"), {Role.STAFF}),
    ("loans.fund", _l("Compensation fund"), {Role.STAFF}),
]
cards = [
    (Role.BANK, "loans.new", _l("Record a loan"), _l("Register a signed IP pledge loan and its pledges.")),
    (Role.BANK, "loans.index", _l("Loans and monitoring"), _l("Schedules, repayments, watch flags, default.")),
    (Role.STAFF, "loans.claims", _l("Compensation claims"), _l("Approve claims; they are paid in order.")),
    (Role.STAFF, "loans.fund", _l("Compensation fund"), _l("Ledger, balance and top-ups.")),
    (Role.STAFF, "fund_grants.grants", _l("Intermediary rewards and interest subsidies"),
     _l("The fund's third and fourth uses, granted per loan and paid after the claims.")),
    (Role.STAFF, "loans.rates", _l("Benchmark and LPR rates"), _l("The dated rate table the cap is judged by.")),
    (Role.STAFF, "loans.policies", _l("Policy versions"),
     _l("Eligible kinds, rate cap, subsidy, compensation and the enterprise ceiling, by effective date.")),
    (None, "loans.plans", _l("Financing-plan calculator"), _l("Subsidy, compensation and shares of a loss.")),
]


def init_app(app) -> None:
    labels.init_app(app)
    register_param_label("reason", labels.flag_reason)
