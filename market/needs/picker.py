"""The need form's patent picker: the organisation's assets a need may offer, searched by title or number and paged on
the server, so it works without JavaScript. The form posts back to itself with every typed field when the user
searches or turns a page; the assets chosen so far are shown (and posted) as their own list, so a choice made on one
page survives the next."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from market.ip.models import VALID_STATUSES, IpAsset, PledgeState
from market.ip.numbers import remaining_years
from market.needs.models import OPEN_STATUSES, Need, NeedAsset
from market.needs.rules import eligible_kinds
from market.paging import Page, page_of

PAGE_SIZE = 20
MAX_QUERY = 100


@dataclass(frozen=True)
class Picker:
    query: str
    rows: list[tuple[IpAsset, float | None]]  # this page of the offerable assets matching the query, years left
    page: Page
    chosen: list[IpAsset]  # the assets ticked so far (any page), the organisation's only


def _offerable(session: Session, org_id: int, need: Need | None, now: datetime):
    """The organisation's assets a need may offer (what `service.check_assets` accepts: in force, of a kind the
    policy accepts, free, not frozen, not offered in another open need) and those the need already offers."""
    busy = select(NeedAsset.asset_id).join(Need).where(Need.status.in_(OPEN_STATUSES),
                                                       Need.id != (need.id if need else 0))
    offered = set(need.asset_ids) if need else set()
    return select(IpAsset).where(IpAsset.owner_org_id == org_id).where(
        IpAsset.id.in_(offered) | (IpAsset.legal_status.in_(VALID_STATUSES)
                                   & (IpAsset.pledge_state == PledgeState.FREE)
                                   & IpAsset.frozen.is_(False)
                                   & IpAsset.kind.in_(eligible_kinds(session, now))
                                   & IpAsset.id.not_in(busy)))


def _matching(query: str):
    """Title contains the text, or a number contains it as people write numbers (CN prefix, dot and spaces
    ignored)."""
    if not query:
        return None
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    number = re.sub(r"[^0-9A-Za-z]", "", query).upper().removeprefix("CN").removeprefix("ZL")
    conditions = [IpAsset.title.ilike(like, escape="\\")]
    if any(c.isdigit() for c in number):
        digits = f"%{number}%"
        conditions += [IpAsset.application_number.ilike(digits), IpAsset.publication_number.ilike(digits),
                       IpAsset.registration_number.ilike(like, escape="\\")]
    return or_(*conditions)


def pick(session: Session, org_id: int | None, need: Need | None, query: str, chosen_ids: list[int],
         now: datetime) -> Picker:
    """The current request's page (`?page=`) of the offerable assets matching `query`, and the chosen ones."""
    query = (query or "").strip()[:MAX_QUERY]
    if org_id is None:
        return Picker(query, [], page_of(0, PAGE_SIZE), [])
    offerable = _offerable(session, org_id, need, now)
    condition = _matching(query)
    if condition is not None:
        offerable = offerable.where(condition)
    total = session.scalar(select(func.count()).select_from(offerable.subquery()))
    page = page_of(total, PAGE_SIZE)
    rows = session.scalars(offerable.order_by(IpAsset.title, IpAsset.id).offset(page.offset).limit(PAGE_SIZE)).all()
    ids = list(dict.fromkeys(chosen_ids))
    chosen = session.scalars(select(IpAsset).where(IpAsset.owner_org_id == org_id, IpAsset.id.in_(ids))).all()
    order = {asset_id: n for n, asset_id in enumerate(ids)}
    today = now.date()
    return Picker(query, [(a, remaining_years(a.kind, a.filing_date, today)) for a in rows], page,
                  sorted(chosen, key=lambda a: order[a.id]))
