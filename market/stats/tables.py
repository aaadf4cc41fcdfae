"""The tables shown on the dashboard, as plain data (headers, column kinds, raw rows) shared by the page and the
CSV export, so the CSV holds exactly the figures the page shows (exact amounts, not 万/亿)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from market.sanitize import spreadsheet_row, spreadsheet_safe
from market.stats import breadth, figures
from market.stats.figures import PAPER

PUBLIC_TABLES = ("headline", "by-month", "by-bank", "by-district", "by-industry", "by-group", "by-kind", "outcomes",
                 "compensation")
STAFF_TABLES = ("recoveries", "compensation-named", "valuers", "need-to-loan")
TABLE_NAMES = PUBLIC_TABLES + STAFF_TABLES


@dataclass
class Table:
    name: str
    title: str
    headers: list[str]
    kinds: list[str]  # per column: text, int, money, percent, or "row" (the row's kind in row_kinds)
    rows: list[list]
    row_kinds: list[str] | None = None
    note: str | None = None
    staff: bool = False

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


def _rows_table(name, title, key_header, rows, label=None) -> Table:
    return Table(name, title, [key_header, _("Loans"), _("Principal (¥)")], ["text", "int", "money"],
                 [[label(r.key) if label else r.key, r.loans, r.principal] for r in rows])


def by_district_table(session: Session) -> Table:
    return _rows_table("by-district", _("Loans by district"), _("District"), breadth.loans_by_district(session))


def by_industry_table(session: Session) -> Table:
    t = _rows_table("by-industry", _("Loans by industry (GB/T 4754-2017 division)"), _("Industry division"),
                    breadth.loans_by_industry_division(session))
    t.note = _("By the borrowing enterprise's industry.")
    return t


def by_group_table(session: Session) -> Table:
    from market.i18n import select_locale

    rows = breadth.loans_by_industry_group(session, english=select_locale() != "zh_CN")
    t = _rows_table("by-group", _("Loans by Chongqing industry group"), _("Industry group"), rows)
    t.note = _("The \"6+1\" pillar and \"2+10\" strategic emerging industries; a loan whose industry belongs to two "
               "groups counts in both.")
    return t


def by_kind_table(session: Session) -> Table:
    from market.ip.labels import kind_label

    t = _rows_table("by-kind", _("Loans by IP kind"), _("IP kind"), breadth.loans_by_ip_kind(session),
                    lambda k: str(kind_label(k)) if k != figures.UNKNOWN else k)
    t.note = _("By the kind of the loan's first pledged asset.")
    return t


def outcomes_table(session: Session, h: dict | None = None) -> Table:
    h = h or figures.headline(session)
    rows = [
        [_("Defaulted loans"), "int", h["defaulted_loans"]],
        [_("Default rate (defaulted loans / all loans)"), "percent", h["default_rate"]],
        [_("Disposal lots settled for defaulted loans"), "int", h["disposals_settled"]],
        [_("Recovered on defaulted loans"), "money", h["recovered"]],
        [_("Recovery rate (recovered / principal outstanding at default)"), "percent", h["recovery_rate"]],
        [_("Compensation claims paid"), "int", h["claims_paid"]],
        [_("Compensation paid to banks"), "money", h["compensation_paid"]],
        [_("Compensation fund balance"), "money", h["fund_balance"]],
        [_("Intermediary rewards paid by the fund"), "money", h["intermediary_rewards_paid"]],
        [_("Enterprise interest subsidies paid by the fund"), "money", h["interest_subsidies_paid"]],
        [_("Median days from financing need to loan"), "number", h["median_need_to_loan_days"]],
    ]
    t = Table("outcomes", _("Defaults, recovery and risk compensation"), [_("Figure"), _("Value")], ["text", "row"],
              [[label, value] for label, _kind, value in rows], [kind for _label, kind, _value in rows])
    t.note = _("Recovery: the sale prices of a defaulted loan's settled disposal lots, or, before any lot is "
               "settled, the recovery recorded on its compensation claim; the rate counts the loans whose recovery "
               "is known.")
    return t


def compensation_table(session: Session, named: bool = False) -> Table:
    rows = []
    for c in figures.compensation_by_loan(session):
        enterprise = c.enterprise if named else figures.mask_name(c.enterprise)
        rows.append([c.loan_id, c.bank, enterprise, c.principal, c.outstanding, c.recovery, c.loss, c.compensation,
                     c.paid_on.isoformat() if c.paid_on else None])
    headers = [_("Loan"), _("Bank"), _("Enterprise"), _("Principal (¥)"), _("Outstanding at default (¥)"),
               _("Recovery (¥)"), _("Loss (¥)"), _("Compensation paid (¥)"), _("Compensation paid on")]
    kinds = ["int", "text", "text", "money", "money", "money", "money", "money", "text"]
    if named:
        return Table("compensation-named", _("Compensation paid per loan (named)"), headers, kinds, rows, staff=True)
    t = Table("compensation", _("Compensation paid per loan"), headers, kinds, rows)
    t.note = _("Enterprise names are masked; amounts are exact.")
    return t


def recoveries_table(session: Session) -> Table:
    sources = {"exchange": _("exchange settlement"), "claim": _("compensation claim"), None: "—"}
    rows = [[r.loan_id, r.bank, r.enterprise, r.defaulted_on.isoformat() if r.defaulted_on else None, r.outstanding,
             r.lots_settled, r.proceeds, sources[r.source], r.rate] for r in figures.recoveries(session)]
    return Table("recoveries", _("Defaulted loans and their recovery"),
                 [_("Loan"), _("Bank"), _("Enterprise"), _("Defaulted on"), _("Outstanding at default (¥)"),
                  _("Lots settled"), _("Recovered (¥)"), _("Recovery from"), _("Recovery rate")],
                 ["int", "text", "text", "text", "money", "int", "money", "text", "percent"], rows, staff=True)


def valuers_table(session: Session) -> Table:
    rows = [[r.agency, r.valuer, r.n, r.mean_abs_error] for r in figures.valuer_accuracy(session)]
    t = Table("valuers", _("Valuer accuracy against disposal prices"),
              [_("Valuation agency"), _("Valuer"), _("Lots sold"), _("Mean absolute error")],
              ["text", "text", "int", "percent"], rows, staff=True)
    if figures.valuer_accuracy_source() == "valuations":
        t.note = _("Mean of |valuation − sale price| / sale price, matching each sold lot with the latest report "
                   "on the asset issued before it was listed.")
    else:
        t.note = _("No valuation reports are recorded: the valuation written on the sold lot is used, grouped by "
                   "the seller; the valuer is not known.")
    return t


def need_to_loan_table(session: Session) -> Table:
    days = figures.need_to_loan_days(session)
    rows = [
        [_("Loans made from a financing need"), "int", len(days)],
        [_("Median days from financing need to loan"), "number", figures.median_need_to_loan_days(session)],
        [_("Mean days from financing need to loan"), "number", figures.mean_need_to_loan_days(session)],
        [_("Shortest (days)"), "int", days[0] if days else None],
        [_("Longest (days)"), "int", days[-1] if days else None],
    ]
    return Table("need-to-loan", _("Time from financing need to loan"), [_("Figure"), _("Value")], ["text", "row"],
                 [[label, value] for label, _kind, value in rows], [kind for _label, kind, _value in rows],
                 staff=True)


BUILDERS = {
    "by-month": by_month_table,
    "by-bank": by_bank_table,
    "by-district": by_district_table,
    "by-industry": by_industry_table,
    "by-group": by_group_table,
    "by-kind": by_kind_table,
    "compensation": compensation_table,
    "recoveries": recoveries_table,
    "compensation-named": lambda s: compensation_table(s, named=True),
    "valuers": valuers_table,
    "need-to-loan": need_to_loan_table,
}


def all_tables(session: Session, names=PUBLIC_TABLES) -> dict[str, Table]:
    h = figures.headline(session) if {"headline", "outcomes"} & set(names) else None
    out = {}
    for name in names:
        if name == "headline":
            out[name] = headline_table(session, h)
        elif name == "outcomes":
            out[name] = outcomes_table(session, h)
        else:
            out[name] = BUILDERS[name](session)
    return out


def table(session: Session, name: str) -> Table | None:
    if name not in TABLE_NAMES:
        return None
    return all_tables(session, (name,))[name]


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
    writer.writerow(spreadsheet_row(t.headers))
    for row in t.rows:
        writer.writerow([_csv_cell(spreadsheet_safe(v)) for v in row])
    return out.getvalue()


def _xlsx_cell(value, kind: str):
    if value is None:
        return None
    if kind in ("int", "money", "percent", "number") and isinstance(value, (int, Decimal)):
        return value  # openpyxl writes Decimal as a number; the money columns get a 2-decimal format
    return str(value)


XLSX_FORMATS = {"money": "#,##0.00", "percent": "0.00%", "int": "#,##0", "number": "0.0"}


def to_xlsx(t: Table) -> bytes:
    """An Excel workbook (openpyxl) with one sheet: the headers, then the rows with numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = t.name[:31]
    ws.append(spreadsheet_row(t.headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, row in enumerate(t.rows):
        kinds = [t.row_kinds[i] if kind == "row" and t.row_kinds else kind for kind in t.kinds]
        ws.append([_xlsx_cell(spreadsheet_safe(v), k) for v, k in zip(row, kinds, strict=True)])
        for cell, kind in zip(ws[ws.max_row], kinds, strict=True):
            if kind in XLSX_FORMATS and isinstance(cell.value, (int, float, Decimal)):
                cell.number_format = XLSX_FORMATS[kind]
    for column, header in zip(ws.columns, t.headers, strict=False):
        width = max([len(str(header))] + [len(str(c.value)) for c in column if c.value is not None])
        ws.column_dimensions[column[0].column_letter].width = min(max(10, width * 1.6), 60)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
