"""What the exchange adds to lower areas' pages and rules (area.py contributions, see `market.areas`): the
transfers on the patent page, a defaulted loan's lots on the loan page, and the sale prices the valuers' accuracy
is measured against.

Transfers at the exchange are public trade information: date, price, lot and the new owner."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.exchange.models import Listing, ListingStatus, Transfer
from market.valuations.accuracy import Sale

SOLD_STATUSES = (ListingStatus.SOLD, ListingStatus.SETTLED)


def transfer_section(session: Session, viewer, asset) -> Markup:
    transfers = session.scalars(select(Transfer).where(Transfer.asset_id == asset.id).order_by(Transfer.at)).all()
    return Markup(render_template("exchange/_patent_transfers.html", transfers=transfers))


def loan_lots(session: Session, viewer, loan) -> Markup:
    """The lots a defaulted loan's pledges were listed as (the loan page is shown only to its parties and staff)."""
    lots = session.scalars(select(Listing).where(Listing.loan_id == loan.id).order_by(Listing.id)).all()
    return Markup(render_template("exchange/_loan_lots.html", lots=lots))


def sold_lots(session: Session) -> list[Sale]:
    """Every lot the exchange sold (sold or settled) at a price, in lot order."""
    return [Sale(*row) for row in session.execute(
        select(Listing.id, Listing.asset_id, Listing.sale_price, Listing.created_at).where(
            Listing.status.in_(SOLD_STATUSES), Listing.sale_price.is_not(None), Listing.sale_price > 0)
        .order_by(Listing.id))]


patent_sections = [(20, transfer_section)]
loan_sections = [(10, loan_lots)]
asset_sales = [sold_lots]
