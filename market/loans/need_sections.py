"""What the loans area adds to a financing need (the needs area collects these, see `market.areas`):

- `need_sections`: on the need page, the "sign the loan" prompt for the bank of the accepted offer, and the loan
  signed from the accepted offer (post-loan maintenance, 贷后维护) for those who may see the loan;
- `need_details`: the same loan as `loan` in `GET /api/v1/needs/{id}`;
- `need_asset_columns`: the valuation in force of each offered asset (as far as the viewer may see it), what a lender
  judges the pledge by;
- `offer_loans`: the loan signed from each accepted offer (the bank's docking page, `loan_id` in offer bodies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.api.fields import UtcDateTime
from market.loans.models import Loan
from market.loans.schedule import Installment, amount_overdue, loan_schedule, outstanding_principal
from market.loans.signing import may_sign, need_loan_for
from market.needs.models import Need
from market.valuations.service import visible_valuations


@dataclass(frozen=True)
class NeedLoan:
    """The loan of a need as its page and the API show it, with its figures on `today`."""

    loan: Loan
    outstanding_principal: Decimal
    overdue_amount: Decimal
    next_instalment: Installment | None


def need_loan(session: Session, viewer, need: Need, today: date) -> NeedLoan | None:
    """The loan signed from the need's accepted offer, for those who may see the loan (`signing.need_loan_for`)."""
    loan = need_loan_for(session, viewer, need)
    if loan is None:
        return None
    return NeedLoan(loan, outstanding_principal(loan), amount_overdue(loan, today),
                    next((i for i in loan_schedule(loan) if i.due_on >= today), None))


def loan_section(session: Session, viewer, need: Need, today: date) -> Markup:
    """The need page's loan section: whether the viewing bank may sign the loan of its accepted offer
    (`signing.may_sign`), and the loan once signed (nothing when neither)."""
    can_sign = may_sign(session, viewer, need)
    shown = need_loan(session, viewer, need, today)
    if not (can_sign or shown):
        return Markup()
    return Markup(render_template("loans/_need_section.html", need=need, can_sign=can_sign, need_loan=shown))


def valuations_in_force(session: Session, viewer, need: Need, today: date) -> dict:
    """{asset id: the valuation in force the viewer may see} for the need's offered assets."""
    found = {}
    for na in need.assets:
        in_force = [v for v in visible_valuations(session, viewer, na.asset_id) if v.in_force(today)]
        if in_force:
            found[na.asset_id] = in_force[0]
    return found


def loans_of_offers(session: Session, offer_ids: list[int]) -> dict[int, int]:
    """{offer id: id of the loan signed from it} (the first, when there are several)."""
    found: dict[int, int] = {}
    for offer_id, loan_id in session.execute(select(Loan.offer_id, Loan.id).where(Loan.offer_id.in_(offer_ids))
                                             .order_by(Loan.id)):
        found.setdefault(offer_id, loan_id)
    return found


class NeedLoanRepaymentOut(Schema):
    paid_on = fields.Date()
    principal = fields.Decimal(as_string=True)
    interest = fields.Decimal(as_string=True)


class NeedLoanWatchFlagOut(Schema):
    asset_id = fields.Integer()
    reason = fields.String()
    raised_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)


class NeedLoanOut(Schema):
    """A NeedLoan: the loan, with the outstanding principal and the overdue amount of the day."""
    id = fields.Integer(attribute="loan.id")
    status = fields.String(attribute="loan.status")
    bank_org_id = fields.Integer(attribute="loan.bank_org_id")
    principal = fields.Decimal(as_string=True, attribute="loan.principal")
    annual_rate = fields.Decimal(as_string=True, attribute="loan.annual_rate")
    term_months = fields.Integer(attribute="loan.term_months")
    signed_on = fields.Date(attribute="loan.signed_on")
    maturity = fields.Date(attribute="loan.maturity")
    outstanding_principal = fields.Decimal(as_string=True)
    overdue_amount = fields.Decimal(as_string=True)
    repayments = fields.List(fields.Nested(NeedLoanRepaymentOut), attribute="loan.repayments")
    watch_flags = fields.List(fields.Nested(NeedLoanWatchFlagOut), attribute="loan.flags")


LOAN_FIELD = fields.Nested(NeedLoanOut, allow_none=True, metadata={
    "description": "post-loan maintenance: the loan signed from the accepted offer (enterprise, bank, staff)"})

need_sections = [(10, loan_section)]
need_details = [("loan", LOAN_FIELD, need_loan)]
need_asset_columns = [(_l("Valuation in force"), "loans/_need_valuation.html", valuations_in_force)]
offer_loans = [loans_of_offers]
