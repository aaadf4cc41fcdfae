"""Valuation reports (with value type and a responsible signer), the conflict-of-interest rule, valuer accuracy
against disposal prices, and the expert pool (知识产权评估专家库) with financing-plan consultations.
Public functions for other areas: see the docstring of `market.valuations.service`."""

import os

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from market.accounts.models import Role
from market.valuations import (
    labels,
    models,  # noqa: F401
)
from market.valuations.api import blp as valuations_api
from market.valuations.demo import demo_step  # noqa: F401
from market.valuations.models import Consultation, ConsultationStatus, Valuation, ValuationStatus
from market.valuations.sections import patent_details, patent_sections, patent_values  # noqa: F401
from market.valuations.todos import TODOS
from market.valuations.views import valuations_bp
from market.valuations.views_experts import consultations_bp, experts_bp

ORDER = 30

blueprints = [valuations_bp, experts_bp, consultations_bp]
api_blueprints = [valuations_api]
todos = TODOS

nav = [
    ("valuations.mine", _l("Valuation reports"), {Role.VALUER}),
    ("consultations.index", _l("Consultations"), {Role.VALUER, Role.ENTERPRISE}),
    ("experts.index", _l("Expert pool"), {Role.ENTERPRISE, Role.VALUER, Role.BANK, Role.STAFF}),
]

cards = [
    (Role.VALUER, "valuations.mine", _l("My valuation reports"),
     _l("Drafts, issued and withdrawn reports of your agency, with their validity.")),
    (Role.VALUER, "valuations.new", _l("New valuation report"),
     _l("Value type, amount, method, validity and the responsible signer; the PDF report.")),
    (Role.VALUER, "consultations.index", _l("Consultations to answer"),
     _l("Enterprises' questions; answer with a financing-plan suggestion.")),
    (Role.VALUER, "valuations.conflicts_page", _l("Declared conflicts of interest"),
     _l("Ties with owners or banks: you may not value their assets.")),
    (Role.VALUER, "experts.profile", _l("My expert profile"), _l("Your IPC specialities and bio in the expert pool.")),
    (Role.ENTERPRISE, "consultations.new", _l("Ask an expert"),
     _l("An expert from the pool suggests a financing plan for one of your needs or patents.")),
    (Role.STAFF, "valuations.accuracy", _l("Valuer accuracy"),
     _l("Valuations compared with the prices the exchange later obtained.")),
]


def _count_issued(session):
    return session.scalar(select(func.count()).select_from(Valuation).where(
        Valuation.status == ValuationStatus.ISSUED))


def _count_waiting(session):
    return session.scalar(select(func.count()).select_from(Consultation).where(
        Consultation.status == ConsultationStatus.REQUESTED))


counters = [("valuations_issued", _l("Valuation reports issued"), _count_issued)]
panels = [(_l("Consultations awaiting an expert"), _count_waiting)]


def init_app(app):
    app.config.setdefault("VALUATION_UPLOAD_DIR", os.path.join(app.instance_path, "uploads", "valuations"))
    labels.init_app(app)
