"""The tables shown on the dashboard, as plain data (headers, column kinds, raw rows) shared by the page and the
CSV export, so the CSV holds exactly the figures the page shows (exact amounts, not 万/亿)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from market.stats import figures
from market.stats.figures import PAPER

TABLE_NAMES = ("headline", "by-month", "by-bank", "outcomes")


@dataclass
class Table:
    name: str
    title: str
    headers: list[str]
    kinds: list[str]  # per column: text, int, money, percent, or "row" (the row's kind in row_kinds)
    rows: list[list]
    row_kinds: list[str] | None = None

    def cells(self):
        """Rows as [(value, kind)] for the template."""
        for i, row in enumerate(self.rows):
            yield [(value, self.row_kinds[i] if kind == "row" and self.row_kinds else kind)
                   for value, kind in zip(row, self.kinds, strict=True)]


def _paper_label() -> str:
    return _("Chongqing, mid-2016 (paper)")


def headline_table(session: Session, h: dict | None = None) -> Table:
    h = h or figures.headline(session)
    rows = [
        [_("Financial institutions taking part (verified banks)"), h["verified_banks"], PAPER.institutions],
        [_("Banks with at least one loan"), h["banks_with_loans"], PAPER.institutions],
        [_("IP pledge loans"), h["loans"], PAPER.loans],
        [_("Total principal lent"), h["principal"], PAPER.principal],
        [_("Enterprises with financing needs"), h["enterprises_with_needs"], PAPER.enterprises_with_needs],
        [_("Valid patents"), h["valid_patents"], PAPER.valid_patents],
        [_("Valid invention patents"), h["valid_invention_patents"], PAPER.valid_invention_patents],
    ]
    row_kinds = ["int", "int", "int", "money", "int", "int", "int"]
    return Table("headline", _("Headline figures"), [_("Figure"), _("Now (live)"), _paper_label()],
                 ["text", "row", "row"], rows, row_kinds)


def by_month_table(session: Session) -> Table:
    rows = [[r.key, r.loans, r.principal] for r in figures.loans_by_month(session)]
    return Table("by-month", _("Loans by month"), [_("Month"), _("Loans"), _("Principal (¥)")],
                 ["text", "int", "money"], rows)


def by_bank_table(session: Session) -> Table:
    rows = [[r.key, r.loans, r.principal] for r in figures.loans_by_bank(session)]
    return Table("by-bank", _("Loans by bank"), [_("Bank"), _("Loans"), _("Principal (¥)")],
                 ["text", "int", "money"], rows)


def outcomes_table(session: Session, h: dict | None = None) -> Table:
    h = h or figures.headline(session)
    rows = [
        [_("Defaulted loans"), "int", h["defaulted_loans"]],
        [_("Default rate (defaulted loans / all loans)"), "percent", h["default_rate"]],
        [_("Compensation claims paid"), "int", h["claims_paid"]],
        [_("Compensation paid to banks"), "money", h["compensation_paid"]],
        [_("Compensation fund balance"), "money", h["fund_balance"]],
    ]
    return Table("outcomes", _("Defaults and risk compensation"), [_("Figure"), _("Value")], ["text", "row"],
                 [[label, value] for label, _kind, value in rows], [kind for _label, kind, _value in rows])


def all_tables(session: Session) -> dict[str, Table]:
    h = figures.headline(session)
    return {
        "headline": headline_table(session, h),
        "by-month": by_month_table(session),
        "by-bank": by_bank_table(session),
        "outcomes": outcomes_table(session, h),
    }


def table(session: Session, name: str) -> Table | None:
    if name not in TABLE_NAMES:
        return None
    return all_tables(session)[name]


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def to_csv(t: Table) -> str:
    """UTF-8 text with a BOM (so Excel opens the Chinese correctly); exact numbers, no 万/亿."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(t.headers)
    for row in t.rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()
