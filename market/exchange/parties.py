"""Who stands where around a lot: the parties who may not bid on it, the winners barred from its re-auction, and who
may see bidders' identities (bidders appear under codes until the close)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from market.accounts.models import Role, User
from market.errors import Forbidden
from market.exchange.models import Listing, ListingStatus
from market.loans.models import Loan

IDENTITIES_PUBLIC = (ListingStatus.SOLD, ListingStatus.SETTLED, ListingStatus.UNPAID, ListingStatus.FAILED)


def conflicted_org_ids(session: Session, listing: Listing) -> set[int]:
    """Organisations whose people may not bid: the owner (the defaulting enterprise), the seller, the lending bank
    (also read from the loan itself, so a listing made by staff is covered)."""
    orgs = {listing.owner_org_id, listing.bank_org_id, listing.seller_org_id}
    loan = session.get(Loan, listing.loan_id) if listing.loan_id is not None else None
    if loan is not None:
        orgs |= {loan.bank_org_id, loan.enterprise_org_id}
    return orgs - {None}


def check_not_conflicted(session: Session, actor: User, listing: Listing) -> None:
    if actor.role is Role.STAFF or (actor.organisation_id is not None
                                    and actor.organisation_id in conflicted_org_ids(session, listing)):
        raise Forbidden("You are a party to this lot and may not bid on it.")


def barred_user_ids(listing: Listing) -> set[int]:
    """Winners who did not pay in an earlier round of the same lot may not bid again."""
    barred, cur = set(), listing.previous
    while cur is not None:
        if cur.status is ListingStatus.UNPAID and cur.winner_id:
            barred.add(cur.winner_id)
        cur = cur.previous
    return barred


def bidder_identities_visible(actor: User | None, listing: Listing) -> bool:
    """Bidders appear under codes until the close: who they are (user ids, names, organisations) is shown only to
    exchange staff, and to others only once the lot closed (sold, settled, unpaid or failed)."""
    if actor is not None and actor.role is Role.STAFF:
        return True
    return listing.status in IDENTITIES_PUBLIC
