"""The statistics and transparency dashboard: the public part (/stats, no login), the open compensation page
(/stats/compensation, enterprise names masked), the staff part (/stats/staff) and CSV / Excel exports of every
table (staff tables for staff only)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext as _
from flask_login import current_user

from market.accounts.models import Role
from market.db import db
from market.i18n import money
from market.security import roles_required
from market.stats import figures, tables
from market.stats.chart import bar_chart
from market.stats.figures import PAPER

stats_bp = Blueprint("stats", __name__, url_prefix="/stats")

CHARTED = ("by-month", "by-bank", "by-district", "by-industry", "by-group", "by-kind")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _charts(all_tables: dict) -> dict:
    charts = {}
    for name in CHARTED:
        rows = all_tables[name].rows
        charts[name] = {
            "loans": bar_chart([(str(r[0]), r[1], f"{r[1]:,}") for r in rows]),
            "principal": bar_chart([(str(r[0]), r[2], money(r[2])) for r in rows], fmt=money),
        }
    return charts


@stats_bp.route("")
def index():
    session = db.session
    h = figures.headline(session)
    all_tables = tables.all_tables(session, tables.PUBLIC_TABLES)
    all_tables.pop("compensation")
    return render_template("stats/index.html", h=h, paper=PAPER, tables=all_tables, charts=_charts(all_tables),
                           paper_label=_("Chongqing, mid-2016 (paper)"))


@stats_bp.route("/compensation")
def compensation():
    """Open page: compensation paid per loan, enterprise names masked, amounts exact."""
    session = db.session
    return render_template("stats/compensation.html", table=tables.compensation_table(session),
                           total=figures.compensation_paid(session), balance=figures.fund_balance(session))


@stats_bp.route("/staff")
@roles_required(Role.STAFF)
def staff():
    session = db.session
    return render_template("stats/staff.html", tables=tables.all_tables(session, tables.STAFF_TABLES),
                           source=figures.valuer_accuracy_source())


def _exportable(name: str) -> tables.Table:
    if name in tables.STAFF_TABLES and not (current_user.is_authenticated and current_user.role is Role.STAFF):
        abort(404 if not current_user.is_authenticated else 403)
    t = tables.table(db.session, name)
    if t is None:
        abort(404)
    return t


@stats_bp.route("/<name>.csv")
def export_csv(name: str):
    t = _exportable(name)
    return Response(tables.to_csv(t).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="stats-{name}.csv"'})


@stats_bp.route("/<name>.xlsx")
def export_xlsx(name: str):
    t = _exportable(name)
    return Response(tables.to_xlsx(t), mimetype=XLSX_MIME,
                    headers={"Content-Disposition": f'attachment; filename="stats-{name}.xlsx"'})
