"""The public statistics and transparency dashboard (no login) and its CSV exports."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext as _

from market.db import db
from market.i18n import money
from market.stats import figures, tables
from market.stats.chart import bar_chart
from market.stats.figures import PAPER

stats_bp = Blueprint("stats", __name__, url_prefix="/stats")


@stats_bp.route("")
def index():
    session = db.session
    h = figures.headline(session)
    all_tables = {
        "headline": tables.headline_table(session, h),
        "by-month": tables.by_month_table(session),
        "by-bank": tables.by_bank_table(session),
        "outcomes": tables.outcomes_table(session, h),
    }
    charts = {}
    for name in ("by-month", "by-bank"):
        rows = all_tables[name].rows
        charts[name] = {
            "loans": bar_chart([(r[0], r[1], f"{r[1]:,}") for r in rows]),
            "principal": bar_chart([(r[0], r[2], money(r[2])) for r in rows]),
        }
    return render_template("stats/index.html", h=h, paper=PAPER, tables=all_tables, charts=charts,
                           paper_label=_("Chongqing, mid-2016 (paper)"))


@stats_bp.route("/<name>.csv")
def export_csv(name: str):
    table = tables.table(db.session, name)
    if table is None:
        abort(404)
    return Response(tables.to_csv(table).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="stats-{name}.csv"'})
