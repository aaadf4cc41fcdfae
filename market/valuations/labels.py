"""Translatable labels of the valuation enums, as Jinja filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from market.i18n import enum_label
from market.valuations.models import ConsultationStatus, ValuationMethod, ValuationStatus, ValueType

VALUE_TYPE_LABELS = {
    ValueType.MARKET: _l("Market value"),
    ValueType.NORMAL_LIQUIDATION: _l("Normal liquidation value"),
    ValueType.IN_USE: _l("In-use value"),
    ValueType.MORTGAGE_LENDING: _l("Mortgage lending value"),
    ValueType.RECOVERABLE: _l("Recoverable value"),
    ValueType.LIQUIDATION: _l("Liquidation value"),
}
METHOD_LABELS = {
    ValuationMethod.INCOME: _l("Income approach"),
    ValuationMethod.MARKET: _l("Market approach"),
    ValuationMethod.COST: _l("Cost approach"),
}
STATUS_LABELS = {
    ValuationStatus.DRAFT: _l("Draft"),
    ValuationStatus.ISSUED: _l("Issued"),
    ValuationStatus.WITHDRAWN: _l("Withdrawn"),
}
CONSULTATION_LABELS = {
    ConsultationStatus.REQUESTED: _l("Awaiting the expert"),
    ConsultationStatus.ANSWERED: _l("Answered"),
    ConsultationStatus.CLOSED: _l("Closed"),
}


def _label(table, enum_cls):
    return lambda value: "—" if value is None else enum_label(table, enum_cls, value)


def init_app(app) -> None:
    app.jinja_env.filters.update(
        value_type_label=_label(VALUE_TYPE_LABELS, ValueType),
        valuation_method_label=_label(METHOD_LABELS, ValuationMethod),
        valuation_status_label=_label(STATUS_LABELS, ValuationStatus),
        consultation_status_label=_label(CONSULTATION_LABELS, ConsultationStatus),
    )
