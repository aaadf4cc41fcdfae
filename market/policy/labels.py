"""Translatable labels of the policy's codes, as Jinja filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

RATE_KIND_LABELS = {
    "pbc_benchmark_1y": _l("PBoC 1-year benchmark"),
    "lpr_1y": _l("1-year LPR"),
}


def rate_kind(value) -> str:
    return str(RATE_KIND_LABELS.get(str(value), value))


def init_app(app) -> None:
    app.jinja_env.filters.update(rate_kind=rate_kind)
