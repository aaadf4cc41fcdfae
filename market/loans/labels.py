"""Translatable labels of loan states and watch-flag reasons, as Jinja filters (`loan_status`, `flag_reason`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from market.i18n import enum_label
from market.loans.models import LoanStatus
from market.policy.regional import CollateralKind, LoanModel

LOAN_STATUS_LABELS = {
    LoanStatus.PENDING: _l("Waiting for the enterprise's confirmation"),
    LoanStatus.DECLINED: _l("Declined, never took effect"),
    LoanStatus.ACTIVE: _l("Performing"),
    LoanStatus.OVERDUE: _l("Overdue"),
    LoanStatus.DEFAULTED: _l("In default"),
    LoanStatus.IN_DISPOSAL: _l("Pledges in disposal"),
    LoanStatus.REPAID: _l("Repaid"),
    LoanStatus.WRITTEN_OFF: _l("Written off"),
    LoanStatus.CLOSED: _l("Settled and closed"),
}
MODEL_LABELS = {
    LoanModel.CHONGQING: _l("Chongqing: multi-party pledge (guarantor, insurer, compensation fund)"),
    LoanModel.SHANGHAI: _l("Shanghai: guarantee with counter-guarantee"),
    LoanModel.JIANGSU: _l("Jiangsu: relationship lending (recommended by the government, no guarantee)"),
    LoanModel.TIANJIN: _l("Tianjin: combined pledge (IP bundled with tangible assets)"),
}
COLLATERAL_LABELS = {
    CollateralKind.REAL_ESTATE: _l("Real estate"),
    CollateralKind.EQUIPMENT: _l("Equipment"),
    CollateralKind.VEHICLE: _l("Vehicle"),
    CollateralKind.INVENTORY: _l("Inventory"),
    CollateralKind.OTHER: _l("Other"),
}
FLAG_LABELS = {
    "lapsed": _l("lapsed (fees unpaid)"),
    "invalidated": _l("invalidated"),
    "expired": _l("expired"),
    "rejected": _l("rejected"),
    "withdrawn": _l("withdrawn"),
    "transferred": _l("transferred to another owner"),
    "frozen": _l("frozen"),
    "valuation_expiring": _l("valuation expiring"),
    "valuation_expired": _l("no valuation in force"),
}


SHARE_LABELS = {
    "loss": _l("Principal loss"),
    "government": _l("Government (compensation fund)"),
    "guarantor": _l("Guarantor"),
    "insurer": _l("Insurer"),
    "counter_guarantor": _l("Counter-guarantor (repays the guarantor)"),
    "collateral": _l("Tangible collateral"),
    "bank": _l("Bank"),
    "enterprise": _l("Enterprise"),
}


def share_label(value) -> str:
    return str(SHARE_LABELS.get(str(value), value))


def loan_model(value) -> str:
    return str(enum_label(MODEL_LABELS, LoanModel, value))


def collateral_kind(value) -> str:
    return str(enum_label(COLLATERAL_LABELS, CollateralKind, value))


def loan_status(value) -> str:
    return str(enum_label(LOAN_STATUS_LABELS, LoanStatus, value))


def flag_reason(value) -> str:
    label = FLAG_LABELS.get(str(value))
    return str(label) if label is not None else str(value)


def init_app(app) -> None:
    app.jinja_env.filters.update(loan_status=loan_status, flag_reason=flag_reason, share_label=share_label,
                                 loan_model=loan_model, collateral_kind=collateral_kind)
