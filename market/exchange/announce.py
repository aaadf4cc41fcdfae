"""Telling people of an announced lot: the parties and known pre-emption holders, and everyone whose own IP, earlier
bids or saved patent search share the lot's IPC field (section + class, e.g. "H01")."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import User
from market.exchange.models import Deposit, Listing, PreemptionRight
from market.exchange.parties import conflicted_org_ids
from market.i18n import when
from market.ip.models import IpAsset, SavedSearch
from market.notices.service import notify

PARTY_MSG = "Lot %(lot)s (%(title)s) has been announced for disposal; bidding starts on %(starts)s."
FIELD_MSG = "A lot in your IPC field %(field)s has been announced: %(title)s; bidding starts on %(starts)s."


def bidding_start_label(stored: str) -> str:
    """A notice's `starts` (stored naive UTC, ISO; notices from before: "YYYY-MM-DD HH:MM UTC") in Beijing time, in
    the reader's format, like every other time of the page."""
    try:
        moment = datetime.fromisoformat(stored.removesuffix(" UTC"))
    except ValueError:
        return stored
    return when(moment)


def ipc_fields(codes) -> set[str]:
    """IPC section + class of each code: "H01M10/0525" → "H01"."""
    out = set()
    for code in codes or []:
        code = str(code).strip().upper().replace(" ", "")
        if len(code) >= 3 and code[0].isalpha() and code[1:3].isdigit():
            out.add(code[:3])
    return out


def _saved_search_user_ids(session: Session, fields: set[str]) -> set[int]:
    """Owners of saved patent searches whose query mentions one of the fields (an IPC filter or words)."""
    users = set()
    for user_id, query in session.execute(select(SavedSearch.owner_user_id, SavedSearch.query)):
        text = json.dumps(query or {}, ensure_ascii=False).upper()
        if any(field in text for field in fields):
            users.add(user_id)
    return users


def notify_announced(session: Session, listing: Listing, now: datetime) -> dict[str, int]:
    """Send the notices for a newly announced lot; returns how many organisations and users were told."""
    link = f"/exchange/{listing.id}"
    starts = listing.bidding_starts_at  # stored as ISO UTC; shown in Beijing time by `bidding_start_label`
    parties = conflicted_org_ids(session, listing)
    for org_id in sorted(parties):
        notify(session, msgid=PARTY_MSG, now=now, org_id=org_id, link=link, lot=listing.id, title=listing.title,
               starts=starts)
    for right in session.scalars(select(PreemptionRight).where(PreemptionRight.listing_id == listing.id,
                                                               PreemptionRight.user_id.is_not(None))):
        notify(session, msgid=PARTY_MSG, now=now, user_id=right.user_id, link=link, lot=listing.id,
               title=listing.title, starts=starts)
    fields = ipc_fields(listing.asset.ipc_codes)
    told_orgs, told_users = set(), set()
    if fields:
        for org_id, codes in session.execute(select(IpAsset.owner_org_id, IpAsset.ipc_codes).where(
                IpAsset.owner_org_id.is_not(None), IpAsset.id != listing.asset_id)):
            if org_id not in parties and org_id not in told_orgs and ipc_fields(codes) & fields:
                told_orgs.add(org_id)
        bidder_ids = set()
        for user_id, codes in session.execute(
                select(Deposit.bidder_id, IpAsset.ipc_codes).join(Listing, Listing.id == Deposit.listing_id)
                .join(IpAsset, IpAsset.id == Listing.asset_id).where(Listing.id != listing.id)):
            if ipc_fields(codes) & fields:
                bidder_ids.add(user_id)
        bidder_ids |= _saved_search_user_ids(session, fields)
        for user in session.scalars(select(User).where(User.id.in_(bidder_ids))) if bidder_ids else []:
            if user.organisation_id in parties or user.organisation_id in told_orgs:
                continue
            told_users.add(user.id)
    field_text = ", ".join(sorted(fields))
    for org_id in sorted(told_orgs):
        notify(session, msgid=FIELD_MSG, now=now, org_id=org_id, link=link, field=field_text, title=listing.title,
               starts=starts)
    for user_id in sorted(told_users):
        notify(session, msgid=FIELD_MSG, now=now, user_id=user_id, link=link, field=field_text, title=listing.title,
               starts=starts)
    session.flush()
    return {"parties": len(parties), "orgs": len(told_orgs), "users": len(told_users)}
