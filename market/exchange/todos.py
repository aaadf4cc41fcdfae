"""What waits on each role at the exchange, for the workspace's to-do list (area.py `todos`)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.exchange.disposal import defaulted_loans_to_list, open_objections
from market.exchange.models import Listing, ListingStatus
from market.notices.service import Todo

LIMIT = 50


def bidder_todos(session: Session, user, now: datetime) -> list[Todo]:
    lots = session.scalars(select(Listing).where(Listing.winner_id == user.id, Listing.status == ListingStatus.SOLD)
                           .order_by(Listing.payment_due_at).limit(LIMIT))
    return [Todo(text=_("Pay for lot %(lot)s “%(title)s” that you won", lot=lot.id, title=lot.title),
                 url=f"/exchange/{lot.id}", due=lot.payment_due_at,
                 late=lot.payment_due_at is not None and lot.payment_due_at < now) for lot in lots]


def staff_todos(session: Session, user, now: datetime) -> list[Todo]:
    items = [Todo(text=_("Review lot %(lot)s “%(title)s”", lot=lot.id, title=lot.title), url=f"/exchange/{lot.id}",
                  due=lot.updated_at)
             for lot in session.scalars(select(Listing).where(Listing.status == ListingStatus.UNDER_REVIEW)
                                        .order_by(Listing.id).limit(LIMIT))]
    items += [Todo(text=_("Decide the objection to lot %(lot)s", lot=objection.listing_id),
                   url=f"/exchange/{objection.listing_id}") for objection in open_objections(session)[:LIMIT]]
    items += [Todo(text=_("List the pledges of defaulted loan %(loan)s for disposal", loan=loan.id),
                   url=f"/exchange/staff/loans/{loan.id}/list")
              for loan, _assets in defaulted_loans_to_list(session)[:LIMIT]]
    return items


TODOS = [({Role.BIDDER}, bidder_todos), ({Role.STAFF}, staff_todos)]
