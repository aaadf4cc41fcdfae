"""Statistics and transparency: the public dashboard (/stats) with the paper's headline figures computed live,
CSV exports, and the home-page counters."""

from flask_babel import lazy_gettext as _l

from market.accounts.models import Role
from market.stats import figures
from market.stats.api import blp as stats_api
from market.stats.views import stats_bp

ORDER = 80
blueprints = [stats_bp]
api_blueprints = [stats_api]
nav = [
    ("stats.index", _l("Statistics"), None),
    ("stats.staff", _l("Staff statistics"), {Role.STAFF}),
]
cards = [
    (Role.STAFF, "stats.staff", _l("Staff statistics"),
     _l("Recovery per defaulted loan, compensation with names, valuer accuracy, time from need to loan.")),
    (None, "stats.compensation", _l("Compensation paid per loan"),
     _l("Open page: what the fund paid per loan, enterprise names masked.")),
]
counters = [
    ("valid_patents", _l("Valid patents"), figures.valid_patents),
    ("loans", _l("IP pledge loans"), figures.loan_count),
    ("enterprises_with_needs", _l("Enterprises with financing needs"), figures.enterprises_with_needs),
]


def _need_to_loan(session) -> str:
    days = figures.need_to_loan_days(session)
    median = figures.median_need_to_loan_days(session)
    if median is None:
        return "—"
    return _l("%(days)s days (median of %(n)s loans)", days=median, n=len(days))


panels = [(_l("Time from need to loan"), _need_to_loan)]
