"""What the loans area adds to a financing need (the needs area collects these, see `market.areas`):

- `need_sections`: on the need page, the "sign the loan" prompt for the bank of the accepted offer, and the loan
  signed from the accepted offer (post-loan maintenance, 贷后维护) for the enterprise, the lending bank and staff;
- `need_facts`: the same loan as `loan` in the API's need body;
- `need_asset_columns`: the valuation in force of each offered asset (as far as the viewer may see it), what a lender
  judges the pledge by;
- `offer_loans`: the loan signed from each accepted offer (the bank's docking page, `loan_id` in offer bodies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.loans.models import Loan
from market.loans.schedule import Installment, amount_overdue, loan_schedule, outstanding_principal
from market.loans.signing import loan_of_need
from market.needs.models import Need, NeedStatus
from market.valuations.service import visible_valuations


@dataclass(frozen=True)
class NeedLoan:
    """The loan of a need as its page and the API show it, with its figures on `today`."""

    loan: Loan
    outstanding_principal: Decimal
    overdue_amount: Decimal
    next_instalment: Installment | None


def _may_see(viewer, loan: Loan) -> bool:
    return viewer.role is Role.STAFF or viewer.organisation_id in (loan.bank_org_id, loan.enterprise_org_id)


def _need_loan(loan: Loan | None, viewer, today: date) -> NeedLoan | None:
    if loan is None or not _may_see(viewer, loan):
        return None
    return NeedLoan(loan, outstanding_principal(loan), amount_overdue(loan, today),
                    next((i for i in loan_schedule(loan) if i.due_on >= today), None))


def need_loan(session: Session, viewer, need: Need, today: date) -> NeedLoan | None:
    """The loan signed from the need's accepted offer, for the enterprise, the lending bank and staff."""
    return _need_loan(loan_of_need(session, need), viewer, today)


def loan_section(session: Session, viewer, need: Need, today: date) -> dict | None:
    """The need page's loan section: whether the viewing bank may sign the loan of its accepted offer, and the
    loan once signed. None when there is nothing to show."""
    loan = loan_of_need(session, need)
    accepted = need.accepted_offer
    can_sign = (loan is None and accepted is not None and viewer.role is Role.BANK
                and accepted.bank_org_id == viewer.organisation_id and need.status is NeedStatus.IN_TALKS)
    shown = _need_loan(loan, viewer, today)
    return {"can_sign": can_sign, "need_loan": shown} if can_sign or shown else None


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


need_sections = [("loans/_need_section.html", loan_section)]
need_facts = [("loan", need_loan)]
need_asset_columns = [(_l("Valuation in force"), "loans/_need_valuation.html", valuations_in_force)]
offer_loans = [loans_of_offers]
