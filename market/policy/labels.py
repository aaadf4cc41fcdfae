"""Translatable labels of the policy's codes, as Jinja filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from market.policy.seed import NIFC, PBOC

RATE_KIND_LABELS = {
    "pbc_benchmark_1y": _l("PBoC 1-year benchmark"),
    "lpr_1y": _l("1-year LPR"),
}


def rate_kind(value) -> str:
    return str(RATE_KIND_LABELS.get(str(value), value))


# The sources the seed records for its rates, named in the reader's language; a source staff typed is shown as typed.
SEED_SOURCES = {
    PBOC: _l("PBoC benchmark lending rate, 1 year"),
    NIFC: _l("LPR 1 year, National Interbank Funding Center"),
}


def rate_source(value) -> str:
    return str(SEED_SOURCES.get(value, value or ""))


def init_app(app) -> None:
    app.jinja_env.filters.update(rate_kind=rate_kind, rate_source=rate_source)
