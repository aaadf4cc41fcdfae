"""Exchange operations: listings through review, deposits, bids, the auction clock, re-auction and settlement.

Concurrency (one design for SQLite and PostgreSQL): a bid first *locks the lot* with a no-op
`UPDATE listing SET bid_count = bid_count WHERE id = :id` as the first statement of its transaction. On PostgreSQL
that takes the row lock (like SELECT ... FOR UPDATE, other lots stay free); on SQLite it takes the database write lock
at once (busy_timeout queues the others), so no transaction reads a snapshot and then fails to upgrade it. Then the
state is read fresh, judged by `rules`, and written with a conditional
`UPDATE ... WHERE id=:id AND bid_count=:seen AND status='bidding' AND ends_at > :now` whose rowcount must be 1
(belt and braces: it also refuses any bid after the close, whatever the lock). The clock (`tick`) opens and closes
lots with conditional UPDATEs on the status, so running it twice, or twice at once, changes each lot once.
Views must start the bid transaction clean (commit the token lookup first) — see `api.py`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import case, exists, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from market.accounts.models import Role, User
from market.audit.service import record, snapshot
from market.bounded import bid_ceiling, bid_multiple
from market.db import insert_unique, lock_row
from market.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from market.exchange import preemption as holders
from market.exchange import rules
from market.exchange import terms as bidder_terms
from market.exchange.models import (
    LIVE_STATUSES,
    Bid,
    Deposit,
    DepositStatus,
    LedgerEntry,
    Listing,
    ListingKind,
    ListingSource,
    ListingStatus,
    Objection,
    ObjectionStatus,
    PreemptionRight,
    Transfer,
)
from market.exchange.states import LISTING
from market.ip.models import IpAsset, PledgeState
from market.notices.service import notify
from market.security import N_

FIELDS = ["status", "round", "starting_price", "current_price", "bid_count", "notice_starts_at", "bidding_starts_at",
          "ends_at", "winner_id", "sale_price", "payment_due_at", "paid_at"]
CHECKLIST = ("terms_within_rules", "asset_right_valid", "parties_notified", "preemption_holders_notified",
             "due_diligence_reviewed", "no_freeze_or_dispute")


def _audit(session, actor, listing, action, before, now, note=None):
    record(session, actor=actor, action=f"listing.{action}", entity_type="listing", entity_id=listing.id, now=now,
           before=before, after=snapshot(listing, FIELDS), note=note)


def _move(session, actor, listing: Listing, dst: ListingStatus, now: datetime, note: str | None = None) -> None:
    LISTING.check(listing.status, dst)
    before = snapshot(listing, FIELDS)
    listing.status = dst
    listing.updated_at = now
    session.flush()
    _audit(session, actor, listing, dst.value, before, now, note)


def get_listing(session: Session, listing_id: int) -> Listing:
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise NotFound("This listing does not exist.")
    return listing


def _require_actor(actor: User) -> None:
    if actor is None or not actor.can_act:
        raise Forbidden("Your organisation must be verified before you can do this.")


def due_diligence_pack(session: Session, asset: IpAsset, loan_id: int | None, now: datetime,
                       valuation: Decimal | None = None) -> dict:
    """What a bidder needs to know, built from the records: asset data, legal status, remaining life, the latest
    valuation (market.valuations when it provides `latest_valuation`, else the listing's own valuation), the asset's
    pledge history, licences sold on the exchange, and the defaulted loan's record."""
    term_end = rules.remaining_term_end(asset.kind.value, asset.filing_date)
    pack = {
        "built_at": now.isoformat(),
        "asset": {"id": asset.id, "kind": asset.kind.value, "title": asset.title,
                  "application_number": asset.application_number, "publication_number": asset.publication_number,
                  "registration_number": asset.registration_number, "ipc_codes": list(asset.ipc_codes or []),
                  "applicants": asset.applicants,
                  "filing_date": asset.filing_date.isoformat() if asset.filing_date else None,
                  "grant_date": asset.grant_date.isoformat() if asset.grant_date else None},
        "legal_status": {"status": asset.legal_status.value, "raw": asset.legal_status_raw,
                         "date": asset.legal_status_date.isoformat() if asset.legal_status_date else None,
                         "frozen": asset.frozen},
        "remaining_life": {"term_ends": term_end.isoformat() if term_end else None,
                           "days": (term_end - now.date()).days if term_end else None},
        "pledge_state": asset.pledge_state.value,
        "valuation": _valuation_record(session, asset, valuation, now.date()),
        "pledge_history": _pledge_history(session, asset.id),
        "licences": _licences(session, asset.id),
        "loan": _loan_default_record(session, loan_id),
    }
    return pack


def latest_valuation(session: Session, asset: IpAsset, on) -> dict | None:
    """Adapter to `market.valuations.service.latest_valuation(session, asset_id, on)` (the report in force on `on`):
    None when that area is absent or has no report in force; else {"amount", "date", "source", "id", "value_type"}."""
    try:
        from market.valuations import service as valuations
    except ImportError:
        return None
    fn = getattr(valuations, "latest_valuation", None)
    found = fn(session, asset.id, on) if fn is not None else None
    if found is None:
        return None
    when = getattr(found, "valuation_date", None)
    kind = getattr(found, "value_type", None)
    return {"amount": str(found.amount), "date": when.isoformat() if when else None, "source": "valuations",
            "id": found.id, "value_type": getattr(kind, "value", kind)}


def _valuation_record(session: Session, asset: IpAsset, own: Decimal | None, on) -> dict | None:
    found = latest_valuation(session, asset, on)
    if found is not None:
        return found
    return {"amount": str(own), "date": None, "source": "listing"} if own is not None else None


def _pledge_history(session: Session, asset_id: int) -> list[dict]:
    try:
        from market.loans.models import Loan, Pledge
    except ImportError:
        return []
    from market.accounts.models import Organisation

    rows = session.execute(select(Pledge, Organisation.name).join(Loan, Loan.id == Pledge.loan_id)
                           .join(Organisation, Organisation.id == Loan.bank_org_id)
                           .where(Pledge.asset_id == asset_id).order_by(Pledge.id)).all()
    return [{"loan_id": p.loan_id, "bank": bank, "registration_number": p.registration_number,
             "registered_on": p.registered_on.isoformat() if p.registered_on else None, "active": p.active,
             "released_at": p.released_at.isoformat() if p.released_at else None} for p, bank in rows]


def _licences(session: Session, asset_id: int) -> list[dict]:
    """Licences of the asset granted through the exchange (settled licence listings)."""
    rows = session.execute(select(Listing.id, Transfer.price, Transfer.at)
                           .join(Transfer, Transfer.listing_id == Listing.id)
                           .where(Listing.asset_id == asset_id, Listing.kind == ListingKind.LICENCE)).all()
    return [{"listing_id": lid, "price": str(price), "at": at.isoformat()} for lid, price, at in rows]


def _loan_default_record(session: Session, loan_id: int | None) -> dict | None:
    """The loan's default record from market.loans: status, principal, outstanding principal, default date, bank."""
    if loan_id is None:
        return None
    try:
        from market.loans.models import Loan
        from market.loans.schedule import outstanding_principal as loan_outstanding
    except ImportError:
        return {"loan_id": loan_id, "available": False}
    loan = session.get(Loan, loan_id)
    if loan is None:
        return {"loan_id": loan_id, "available": False}
    out = {"loan_id": loan_id, "available": True}
    for name in ("status", "principal", "annual_rate", "signed_on", "maturity", "defaulted_on", "bank_org_id",
                 "enterprise_org_id"):
        value = getattr(loan, name, None)
        if value is not None:
            out[name] = value.isoformat() if hasattr(value, "isoformat") else str(getattr(value, "value", value))
    out["bank"] = loan.bank.name if loan.bank else None
    out["enterprise"] = loan.enterprise.name if loan.enterprise else None
    out["outstanding_principal"] = str(loan_outstanding(loan))
    return out


def outstanding_principal(session: Session, listing: Listing) -> Decimal | None:
    """The defaulted loan's outstanding principal (for the results page), None for a voluntary listing."""
    if listing.loan_id is None:
        return None
    from market.loans.models import Loan
    from market.loans.schedule import outstanding_principal as loan_outstanding

    loan = session.get(Loan, listing.loan_id)
    return loan_outstanding(loan) if loan is not None else None


def _terms(listing: Listing) -> rules.Terms:
    return rules.Terms(valuation=listing.valuation, starting_price=listing.starting_price,
                       increment=listing.increment, deposit=listing.deposit_amount,
                       notice_starts_at=listing.notice_starts_at, bidding_starts_at=listing.bidding_starts_at,
                       ends_at=listing.scheduled_ends_at)


def _check(listing: Listing) -> None:
    failed_price = listing.previous.starting_price if listing.previous is not None and listing.round == 2 else None
    if listing.kind is ListingKind.FIXED_PRICE:
        return
    problems = rules.check_terms(_terms(listing), failed_starting_price=failed_price)
    if problems:
        raise InvalidInput(problems[0])


def create_listing(session: Session, actor: User, *, asset_id: int, source: ListingSource, valuation: Decimal,
                   starting_price: Decimal, increment: Decimal, deposit_amount: Decimal, notice_starts_at: datetime,
                   bidding_starts_at: datetime, ends_at: datetime, now: datetime,
                   kind: ListingKind = ListingKind.AUCTION, loan_id: int | None = None, bank_org_id: int | None = None,
                   title: str | None = None, description: str | None = None,
                   preemption: list[tuple[int, object]] = (), licence: dict | None = None) -> Listing:
    """A draft listing: by staff, by the lending bank (default) or by the owner (voluntary transfer or licence).

    `licence` (a licence lot): {"exclusive", "territory", "term_months", "royalty"} granted to the winner.
    `preemption`: (user id, kind) of holders known at creation; staff register others (`preemption.py`)."""
    _require_actor(actor)
    asset = lock_row(session, IpAsset, asset_id)  # listings of one asset at once queue: the second sees the first
    if asset is None:
        raise NotFound("This IP asset does not exist.")
    if actor.role is Role.BANK:
        if source is not ListingSource.DEFAULT:
            raise Forbidden("A bank can only list defaulted pledges.")
        bank_org_id = actor.organisation_id
    elif actor.role is Role.ENTERPRISE:
        if source is not ListingSource.VOLUNTARY or asset.owner_org_id != actor.organisation_id:
            raise Forbidden("Only the owner can put this asset up for transfer.")
    elif actor.role is not Role.STAFF:
        raise Forbidden("Your role cannot create listings.")
    if session.scalar(select(Listing.id).where(Listing.asset_id == asset_id,
                                               Listing.status.in_([ListingStatus(s) for s in LIVE_STATUSES]))):
        raise Conflict("This asset already has an open listing.")
    listing = Listing(
        asset_id=asset_id, source=source, loan_id=loan_id, kind=kind, title=title or asset.title,
        description=description, seller_org_id=bank_org_id if source is ListingSource.DEFAULT else asset.owner_org_id,
        owner_org_id=asset.owner_org_id, bank_org_id=bank_org_id, valuation=valuation, starting_price=starting_price,
        increment=increment, deposit_amount=deposit_amount, notice_starts_at=notice_starts_at,
        bidding_starts_at=bidding_starts_at, scheduled_ends_at=ends_at, ends_at=ends_at,
        status=ListingStatus.DRAFT, round=1, bid_count=0, leader_preemption=False,
        rules_version=rules.RULES_VERSION, checklist={}, created_by_id=actor.id, created_at=now, updated_at=now,
        due_diligence=due_diligence_pack(session, asset, loan_id, now, valuation),
    )
    set_licence_terms(listing, licence)
    _check(listing)
    _insert_listing(session, listing)
    for user_id, right in preemption:
        holder = session.get(User, user_id)
        session.add(PreemptionRight(listing_id=listing.id, user_id=user_id, kind=right, registered_by_id=actor.id,
                                    registered_at=now, name=(holder.name or holder.email) if holder else str(user_id)))
    _audit(session, actor, listing, "created", None, now)
    session.flush()
    return listing


def _insert_listing(session: Session, listing: Listing) -> None:
    """Insert a listing; the partial unique index (one live listing per asset) turns a second one into a 409."""
    insert_unique(session, listing, Conflict("This asset already has an open listing."))


LICENCE_FIELDS = ("exclusive", "territory", "term_months", "royalty")


def set_licence_terms(listing: Listing, licence: dict | None) -> None:
    """A licence lot states what the winner gets: exclusive or not, territory, term (months) and royalty (a fraction
    of net sales, 0–1, on top of the price). Other lots carry none."""
    licence = licence or {}
    if listing.kind is not ListingKind.LICENCE:
        if any(licence.get(k) not in (None, "") for k in LICENCE_FIELDS):
            raise InvalidInput("Only a licence lot has licence terms.")
        return
    exclusive, territory = licence.get("exclusive"), (licence.get("territory") or "").strip()
    term, royalty = licence.get("term_months"), licence.get("royalty")
    if exclusive is None or not territory or term is None:
        raise InvalidInput("A licence lot states whether it is exclusive, its territory and its term.")
    if not 1 <= int(term) <= 600:
        raise InvalidInput("The licence term must be between 1 and 600 months.")
    if royalty is not None and not Decimal("0") <= Decimal(royalty) <= Decimal("1"):
        raise InvalidInput("The royalty is a share of net sales between 0% and 100%.")
    listing.licence_exclusive, listing.licence_territory = bool(exclusive), territory[:200]
    listing.licence_term_months = int(term)
    listing.licence_royalty = Decimal(royalty) if royalty is not None else None


def submit_listing(session: Session, actor: User, listing: Listing, now: datetime) -> None:
    _require_actor(actor)
    if actor.role is not Role.STAFF and actor.id != listing.created_by_id:
        raise Forbidden("Only the listing's author can submit it.")
    lock_lot(session, listing.id)  # two submissions at once queue: the second sees it under review (409)
    session.refresh(listing)
    _move(session, actor, listing, ListingStatus.UNDER_REVIEW, now)
    notify(session, msgid=N_("Lot %(lot)s “%(title)s” awaits review."), now=now, role=Role.STAFF.value, link=f"/exchange/{listing.id}", lot=listing.id, title=listing.title)  # noqa: E501


def review_listing(session: Session, actor: User, listing: Listing, checklist: dict[str, bool], approve: bool,
                   now: datetime, note: str | None = None) -> None:
    """Staff review: approving needs every checklist item ticked and valid terms; the lot is then announced."""
    _require_actor(actor)
    if actor.role is not Role.STAFF:
        raise Forbidden("Only exchange staff can review listings.")
    lock_lot(session, listing.id)  # two decisions at once queue; the second sees the first's outcome
    session.refresh(listing)
    listing.checklist = {item: bool(checklist.get(item)) for item in CHECKLIST}
    listing.review_note = note
    if approve:
        if not all(listing.checklist.values()):
            raise InvalidInput("Every item of the checklist must be confirmed before approval.")
        _check(listing)
        asset = listing.asset
        if asset.legal_status.value != "granted" and listing.source is ListingSource.DEFAULT:
            raise InvalidInput("The right is not in force.")
        holders.check_told(session, listing, now)
        listing.due_diligence = due_diligence_pack(session, asset, listing.loan_id, now, listing.valuation)
        asset.pledge_state = PledgeState.IN_DISPOSAL
        _publish_schedule(listing, now, rules.NOTICE_DAYS)
        _move(session, actor, listing, ListingStatus.ANNOUNCED, now, note)
        from market.exchange.announce import notify_announced

        notify_announced(session, listing, now)
    else:
        _move(session, actor, listing, ListingStatus.DRAFT, now, note)


def _publish_schedule(listing: Listing, now: datetime, notice_days: int) -> None:
    """The lot is announced now: its notice counts from now (the server's time), whatever date was typed, and
    bidding opens no earlier than now + `notice_days` (the whole schedule moves later when typed too early)."""
    notice, starts, ends = rules.published_schedule(listing.notice_starts_at, listing.bidding_starts_at,
                                                    listing.scheduled_ends_at, now, notice_days)
    moved = ends - listing.scheduled_ends_at
    listing.notice_starts_at, listing.bidding_starts_at = notice, starts
    listing.scheduled_ends_at, listing.ends_at = ends, listing.ends_at + moved


def cancel_listing(session: Session, actor: User, listing: Listing, now: datetime, note: str | None = None) -> None:
    _require_actor(actor)
    if actor.role is not Role.STAFF:
        raise Forbidden("Only exchange staff can cancel listings.")
    lock_lot(session, listing.id)
    session.refresh(listing)
    _move(session, actor, listing, ListingStatus.CANCELLED, now, note)
    _refund_all(session, listing, now, except_user=None)


def _barred_user_ids(session: Session, listing: Listing) -> set[int]:
    """Winners who did not pay in an earlier round of the same lot may not bid again."""
    barred, cur = set(), listing.previous
    while cur is not None:
        if cur.status is ListingStatus.UNPAID and cur.winner_id:
            barred.add(cur.winner_id)
        cur = cur.previous
    return barred


def conflicted_org_ids(session: Session, listing: Listing) -> set[int]:
    """Organisations whose people may not bid: the owner (the defaulting enterprise), the seller, the lending bank
    (also read from the loan itself, so a listing made by staff is covered)."""
    orgs = {listing.owner_org_id, listing.bank_org_id, listing.seller_org_id}
    if listing.loan_id is not None:
        try:
            from market.loans.models import Loan
        except ImportError:
            Loan = None  # noqa: N806
        loan = session.get(Loan, listing.loan_id) if Loan is not None else None
        if loan is not None:
            orgs |= {loan.bank_org_id, loan.enterprise_org_id}
    return orgs - {None}


IDENTITIES_PUBLIC = (ListingStatus.SOLD, ListingStatus.SETTLED, ListingStatus.UNPAID, ListingStatus.FAILED)


def bidder_identities_visible(actor: User | None, listing: Listing) -> bool:
    """Bidders appear under codes until the close: who they are (user ids, names, organisations) is shown only to
    exchange staff, and to others only once the lot closed (sold, settled, unpaid or failed)."""
    if actor is not None and actor.role is Role.STAFF:
        return True
    return listing.status in IDENTITIES_PUBLIC


def check_not_conflicted(session: Session, actor: User, listing: Listing) -> None:
    if actor.role is Role.STAFF or (actor.organisation_id is not None
                                    and actor.organisation_id in conflicted_org_ids(session, listing)):
        raise Forbidden("You are a party to this lot and may not bid on it.")


def pay_deposit(session: Session, actor: User, listing: Listing | int, now: datetime,
                terms_version: str | None = None) -> Deposit:
    """Record a (simulated) deposit payment in the lot's ledger and give the bidder a code for this lot.

    Paying the deposit accepts the lot's announcement and bidder terms: the deposit keeps which version and when.
    `terms_version` is the version the bidder read (the page and the API send it); a different one is refused, so
    nobody accepts terms they were not shown. None means the current version (callers that show them in-process).

    Serialised per lot like bids: the lot's lock is the first statement (callers start the transaction clean), so
    two payments by one user at once give one deposit and a 409, and two bidders never take the same code. Belt and
    braces: a unique-constraint clash (same bidder → 409; same code → next code) is caught in a savepoint."""
    listing_id = listing if isinstance(listing, int) else sa_inspect(listing).identity[0]
    lock_lot(session, listing_id)
    listing = session.execute(select(Listing).where(Listing.id == listing_id)
                              .execution_options(populate_existing=True)).scalar_one_or_none()
    if listing is None:
        raise NotFound("This listing does not exist.")
    _require_actor(actor)
    if listing.status not in (ListingStatus.ANNOUNCED, ListingStatus.BIDDING) or now >= listing.ends_at:
        raise Conflict("Deposits are taken only while the lot is announced or in bidding.")
    check_not_conflicted(session, actor, listing)
    if actor.id in _barred_user_ids(session, listing):
        raise Forbidden("A winner who did not pay may not bid in the re-auction.")

    def already_paid():
        return session.scalar(select(Deposit.id).where(Deposit.listing_id == listing.id,
                                                       Deposit.bidder_id == actor.id)) is not None

    if already_paid():
        raise Conflict("You have already paid the deposit for this lot.")
    current_terms = bidder_terms.terms_version(listing)
    if terms_version is not None and terms_version != current_terms:
        raise Conflict("The terms of this lot have changed since you read them; read them again before paying.")
    taken = set(session.scalars(select(Deposit.code).where(Deposit.listing_id == listing.id)))
    secret = current_app.config["SECRET_KEY"] if current_app else ""
    deposit = None
    for attempt in range(64):
        code = rules.bidder_code(secret, listing.id, actor.id, attempt)
        if code in taken:
            continue
        candidate = Deposit(listing_id=listing.id, bidder_id=actor.id, code=code, amount=listing.deposit_amount,
                            status=DepositStatus.HELD, paid_at=now, terms_version=current_terms,
                            terms_accepted_at=now)
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
        except IntegrityError:
            if already_paid():
                raise Conflict("You have already paid the deposit for this lot.") from None
            taken.add(code)
            continue
        deposit = candidate
        break
    if deposit is None:
        raise Conflict("No bidder code could be assigned; please try again.")
    code = deposit.code
    session.add(LedgerEntry(listing_id=listing.id, user_id=actor.id, entry="deposit_paid",
                            amount=listing.deposit_amount, at=now, reference=f"sim-{code}"))
    session.flush()
    record(session, actor=actor, action="listing.deposit_paid", entity_type="listing", entity_id=listing.id, now=now,
           after={"code": code, "amount": listing.deposit_amount, "terms_version": current_terms,
                  "terms_accepted_at": now})
    return deposit


def lock_lot(session: Session, listing_id: int) -> None:
    """Take the lot's write lock first thing in the transaction (row lock on PostgreSQL, write lock on SQLite)."""
    session.execute(update(Listing).where(Listing.id == listing_id).values(bid_count=Listing.bid_count)
                    .execution_options(synchronize_session=False))


def place_bid(session: Session, actor: User, listing_id: int, amount: Decimal, now: datetime) -> Bid:
    """Judge and record one bid at server time `now`. Returns the Bid (also when refused: every bid is kept);
    raises Forbidden without a held deposit and NotFound for an unknown lot. See `bid_error` for refusals."""
    lock_lot(session, listing_id)
    listing = session.execute(select(Listing).where(Listing.id == listing_id)
                              .execution_options(populate_existing=True)).scalar_one_or_none()
    if listing is None:
        raise NotFound("This listing does not exist.")
    _require_actor(actor)
    deposit = session.scalar(select(Deposit).where(Deposit.listing_id == listing_id, Deposit.bidder_id == actor.id))
    if deposit is None or deposit.status is not DepositStatus.HELD:
        raise Forbidden("Pay the deposit before bidding.")
    check_not_conflicted(session, actor, listing)
    amount = Decimal(amount)
    ceiling = bid_ceiling(listing.valuation)
    if amount > ceiling:  # nothing is recorded: such a bid would freeze the lot at a price no one can beat
        raise InvalidInput("A bid on this lot may be at most %(ceiling)s (%(multiple)s times its valuation).",
                           ceiling=format(ceiling, ",.2f"), multiple=bid_multiple())
    if amount != amount.quantize(rules.CENT) or amount <= 0:
        raise InvalidInput("The amount must be positive with at most two decimals.")
    preemption = session.scalar(select(PreemptionRight.id).where(
        PreemptionRight.listing_id == listing_id, PreemptionRight.user_id == actor.id)) is not None
    if listing.status in (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW, ListingStatus.ANNOUNCED):
        verdict = rules.BidVerdict.NOT_OPEN
    elif listing.status is not ListingStatus.BIDDING:
        verdict = rules.BidVerdict.CLOSED
    elif listing.kind is ListingKind.FIXED_PRICE:
        verdict = rules.BidVerdict.CLOSED if now >= listing.ends_at else (
            rules.BidVerdict.ACCEPTED if amount >= listing.starting_price else rules.BidVerdict.TOO_LOW)
    else:
        verdict = rules.judge_bid(amount, starting_price=listing.starting_price, increment=listing.increment,
                                  current_price=listing.current_price, ends_at=listing.ends_at, now=now,
                                  preemption=preemption, leader_has_preemption=listing.leader_preemption)
    bid = Bid(listing_id=listing_id, bidder_id=actor.id, code=deposit.code, amount=amount, placed_at=now,
              accepted=False, preemption=preemption, outcome=verdict)
    if verdict == rules.BidVerdict.ACCEPTED:
        fixed = listing.kind is ListingKind.FIXED_PRICE
        new_end = listing.ends_at if fixed else rules.extended_end(listing.ends_at, now)
        values = dict(current_price=amount, bid_count=Listing.bid_count + 1, ends_at=new_end, leader_id=actor.id,
                      leader_preemption=preemption, updated_at=now,
                      extension_count=Listing.extension_count + (1 if new_end != listing.ends_at else 0))
        result = session.execute(
            update(Listing).where(Listing.id == listing_id, Listing.bid_count == listing.bid_count,
                                  Listing.status == ListingStatus.BIDDING, Listing.ends_at > now)
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            bid.accepted, bid.ends_at_after = True, new_end
            if listing.leader_id not in (None, actor.id):
                notify(session, msgid=N_("You were outbid on lot %(lot)s “%(title)s”: the price is now %(amount)s."), now=now, user_id=listing.leader_id, link=f"/exchange/{listing_id}", lot=listing_id, title=listing.title, amount=amount)  # noqa: E501
        else:  # only reachable if the lock was bypassed; the conditional UPDATE still refuses the bid
            bid.outcome = rules.BidVerdict.OUTBID
    session.add(bid)
    session.flush()
    if bid.accepted and listing.kind is ListingKind.FIXED_PRICE:
        session.refresh(listing)
        _close(session, listing, now, force=True)
    return bid


def bid_error(bid: Bid):
    """The domain error for a refused bid (the view commits the record first, then raises this)."""
    if bid.outcome == rules.BidVerdict.NOT_OPEN:
        listing = object_session(bid).get(Listing, bid.listing_id)
        return Conflict("Bidding on this lot has not opened yet: it opens at %(when)s (UTC).",
                        when=listing.bidding_starts_at.strftime("%Y-%m-%d %H:%M"))
    if bid.outcome == rules.BidVerdict.CLOSED:
        return Conflict("Bidding on this lot is closed; the bid was not accepted.")
    if bid.outcome == rules.BidVerdict.TOO_LOW:
        return InvalidInput("The bid is below the minimum bid.")
    if bid.outcome == rules.BidVerdict.OFF_GRID:
        listing = object_session(bid).get(Listing, bid.listing_id)
        lower, higher = rules.grid_neighbours(bid.amount, listing.starting_price, listing.increment,
                                              listing.current_price)
        return InvalidInput("Bids go up in steps of the increment (%(increment)s): bid %(lower)s or %(higher)s, "
                            "not %(amount)s.", increment=listing.increment, lower=max(lower, listing.starting_price),
                            higher=higher, amount=bid.amount)
    return Conflict("You have been outbid: the current price is already at or above this amount.")


def _refund_all(session: Session, listing: Listing, now: datetime, except_user: int | None) -> int:
    n = 0
    for deposit in session.scalars(select(Deposit).where(Deposit.listing_id == listing.id,
                                                         Deposit.status == DepositStatus.HELD)):
        if deposit.bidder_id == except_user:
            continue
        deposit.status, deposit.settled_at = DepositStatus.REFUNDED, now
        session.add(LedgerEntry(listing_id=listing.id, user_id=deposit.bidder_id, entry="deposit_refunded",
                                amount=-deposit.amount, at=now))
        n += 1
    session.flush()
    return n


def _close(session: Session, listing: Listing, now: datetime, force: bool = False) -> bool:
    """Close a lot in bidding exactly once: sold to the leader or failed; losers' deposits refunded."""
    cond = [Listing.id == listing.id, Listing.status == ListingStatus.BIDDING]
    if not force:
        cond.append(Listing.ends_at <= now)
    before = snapshot(listing, FIELDS)
    result = session.execute(
        update(Listing).where(*cond).values(
            status=case((Listing.bid_count > 0, ListingStatus.SOLD.value), else_=ListingStatus.FAILED.value),
            closed_at=now, updated_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    session.refresh(listing)
    if listing.status is ListingStatus.SOLD:
        listing.winner_id, listing.sale_price = listing.leader_id, listing.current_price
        listing.payment_due_at = rules.payment_deadline(now)
    _refund_all(session, listing, now, except_user=listing.winner_id)
    session.flush()
    _audit(session, None, listing, listing.status.value, before, now)
    _notify_closed(session, listing, now)
    return True


def _notify_closed(session: Session, listing: Listing, now: datetime) -> None:
    """Tell the winner (pay by the deadline), every other bidder with a deposit (lost, refunded) and the seller."""
    link, sold = f"/exchange/{listing.id}", listing.status is ListingStatus.SOLD
    if sold:
        notify(session, msgid=N_("You won lot %(lot)s “%(title)s” at %(amount)s: pay by %(due)s."), now=now, user_id=listing.winner_id, link=link, lot=listing.id, title=listing.title, amount=listing.sale_price, due=listing.payment_due_at)  # noqa: E501
    for bidder_id in session.scalars(select(Deposit.bidder_id).where(Deposit.listing_id == listing.id)):
        if bidder_id != listing.winner_id:
            notify(session, msgid=N_("Lot %(lot)s “%(title)s” went to another bidder; your deposit was refunded."), now=now, user_id=bidder_id, link=link, lot=listing.id, title=listing.title)  # noqa: E501
    msgid = N_("Lot %(lot)s “%(title)s” was sold at %(amount)s.") if sold else N_("Lot %(lot)s “%(title)s” had no bid.")
    if listing.seller_org_id is not None:
        notify(session, msgid=msgid, now=now, org_id=listing.seller_org_id, link=link, lot=listing.id, title=listing.title, amount=listing.sale_price or 0)  # noqa: E501


def _system_move(session: Session, listing_id: int, src: ListingStatus, dst: ListingStatus, now: datetime,
                 extra_cond=()) -> bool:
    LISTING.check(src, dst)
    result = session.execute(update(Listing).where(Listing.id == listing_id, Listing.status == src, *extra_cond)
                             .values(status=dst, updated_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


def tick(session: Session, now: datetime) -> dict[str, int]:
    """The auction clock: open announced lots, close ended ones, forfeit unpaid winners. Idempotent and safe to
    run concurrently (each change is a conditional UPDATE that only one run can win)."""
    counts = {"opened": 0, "closed": 0, "unpaid": 0}
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Listing).where(Listing.id == -1).values(bid_count=Listing.bid_count))
    open_objection = exists().where(Objection.listing_id == Listing.id, Objection.status == ObjectionStatus.OPEN)
    for listing in session.scalars(select(Listing).where(Listing.status == ListingStatus.ANNOUNCED,
                                                         Listing.bidding_starts_at <= now, ~open_objection)).all():
        before = snapshot(listing, FIELDS)
        if _system_move(session, listing.id, ListingStatus.ANNOUNCED, ListingStatus.BIDDING, now,
                        extra_cond=(~open_objection,)):
            session.refresh(listing)
            _audit(session, None, listing, "bidding", before, now)
            counts["opened"] += 1
    for listing in session.scalars(select(Listing).where(Listing.status == ListingStatus.BIDDING,
                                                         Listing.ends_at <= now)).all():
        counts["closed"] += _close(session, listing, now)
    for listing in session.scalars(select(Listing).where(Listing.status == ListingStatus.SOLD,
                                                         Listing.payment_due_at <= now)).all():
        before = snapshot(listing, FIELDS)
        if _system_move(session, listing.id, ListingStatus.SOLD, ListingStatus.UNPAID, now):
            session.refresh(listing)
            for deposit in session.scalars(select(Deposit).where(Deposit.listing_id == listing.id,
                                                                 Deposit.bidder_id == listing.winner_id)):
                deposit.status, deposit.settled_at = DepositStatus.FORFEITED, now
                session.add(LedgerEntry(listing_id=listing.id, user_id=deposit.bidder_id, entry="deposit_forfeited",
                                        amount=Decimal("0"), at=now, reference=str(deposit.amount)))
            _audit(session, None, listing, "unpaid", before, now)
            counts["unpaid"] += 1
    session.flush()
    return counts


def create_reauction(session: Session, actor: User, failed: Listing, *, starting_price: Decimal,
                     deposit_amount: Decimal, increment: Decimal, notice_starts_at: datetime,
                     bidding_starts_at: datetime, ends_at: datetime, now: datetime) -> Listing:
    """Re-run a failed (or unpaid) first auction within 30 days, at most 20 % lower, with a 15-day notice."""
    _require_actor(actor)
    if actor.role is not Role.STAFF:
        raise Forbidden("Only exchange staff can schedule a re-auction.")
    lock_lot(session, failed.id)  # two follow-ups at once queue: the second sees the first
    session.refresh(failed)
    if failed.status not in (ListingStatus.FAILED, ListingStatus.UNPAID) or failed.round != 1:
        raise Conflict("Only a failed or unpaid first auction can be re-auctioned.")
    if now > rules.reauction_deadline(failed.closed_at):
        raise Conflict("The re-auction must be scheduled within 30 days of the failed auction.")
    if session.scalar(select(Listing.id).where(Listing.previous_id == failed.id)):
        raise Conflict("This lot already has a follow-up listing.")
    listing = _follow_up(failed, round_=2, kind=failed.kind, starting_price=starting_price,
                         deposit_amount=deposit_amount, increment=increment, notice_starts_at=notice_starts_at,
                         bidding_starts_at=bidding_starts_at, ends_at=ends_at, actor=actor, now=now)
    listing.previous = failed
    _check(listing)
    _publish_schedule(listing, now, rules.REAUCTION_NOTICE_DAYS)  # a re-auction is announced as it is created
    _insert_listing(session, listing)
    holders.copy_holders(session, failed, listing)


    session.add(listing)
    session.flush()
    holders.copy_holders(session, failed, listing)
    _audit(session, actor, listing, "created", None, now, note=f"re-auction of {failed.id}")
    return listing


def offer_fixed_price(session: Session, actor: User, failed: Listing, now: datetime) -> Listing:
    """After a failed re-auction: a 60-day fixed-price sale (变卖) at the re-auction's starting price, open at once."""
    _require_actor(actor)
    if actor.role is not Role.STAFF:
        raise Forbidden("Only exchange staff can offer a lot at a fixed price.")
    lock_lot(session, failed.id)  # two follow-ups at once queue: the second sees the first
    session.refresh(failed)
    if failed.status not in (ListingStatus.FAILED, ListingStatus.UNPAID) or failed.round != 2:
        raise Conflict("Only a failed re-auction can be offered at a fixed price.")
    if session.scalar(select(Listing.id).where(Listing.previous_id == failed.id)):
        raise Conflict("This lot already has a follow-up listing.")
    start, end = rules.fixed_price_window(now)
    listing = _follow_up(failed, round_=3, kind=ListingKind.FIXED_PRICE, starting_price=failed.starting_price,
                         deposit_amount=failed.deposit_amount, increment=failed.increment, notice_starts_at=now,
                         bidding_starts_at=start, ends_at=end, actor=actor, now=now)
    listing.previous = failed
    listing.status = ListingStatus.BIDDING
    _insert_listing(session, listing)
    holders.copy_holders(session, failed, listing)


    session.add(listing)
    session.flush()
    holders.copy_holders(session, failed, listing)
    _audit(session, actor, listing, "created", None, now, note=f"fixed-price sale after {failed.id}")
    return listing


def _follow_up(failed: Listing, *, round_: int, kind, actor, now, **terms) -> Listing:
    return Listing(asset_id=failed.asset_id, source=failed.source, loan_id=failed.loan_id, kind=kind,
                   title=failed.title, description=failed.description, seller_org_id=failed.seller_org_id,
                   owner_org_id=failed.owner_org_id, bank_org_id=failed.bank_org_id, valuation=failed.valuation,
                   scheduled_ends_at=terms["ends_at"], status=ListingStatus.ANNOUNCED, round=round_,
                   bid_count=0, leader_preemption=False, rules_version=rules.RULES_VERSION,
                   checklist=dict(failed.checklist or {}), due_diligence=dict(failed.due_diligence or {}),
                   licence_exclusive=failed.licence_exclusive, licence_territory=failed.licence_territory,
                   licence_term_months=failed.licence_term_months, licence_royalty=failed.licence_royalty,
                   created_by_id=actor.id, created_at=now, updated_at=now, **terms)


def record_payment(session: Session, actor: User, listing: Listing, now: datetime) -> Transfer:
    """The winner's (simulated) payment: deposit applied, balance in, proceeds to the seller, transfer recorded,
    and the loss handed to the loans area's claim flow. Serialised per lot: the lot's lock comes first and the lot
    is read again under it, so two confirmations at once settle it once (the second sees it settled: 409)."""
    _require_actor(actor)
    lock_lot(session, listing.id)
    session.refresh(listing)
    if actor.role is not Role.STAFF and actor.id != listing.winner_id:
        raise Forbidden("Only the winner or exchange staff can record the payment.")
    if listing.status is not ListingStatus.SOLD:
        raise Conflict("Only a sold lot awaiting payment can be settled.")
    if listing.payment_due_at is not None and now > listing.payment_due_at:
        raise Conflict("The payment deadline has passed.")
    deposit = session.scalar(select(Deposit).where(Deposit.listing_id == listing.id,
                                                   Deposit.bidder_id == listing.winner_id))
    paid_by_deposit = Decimal("0")
    if deposit is not None and deposit.status is DepositStatus.HELD:
        deposit.status, deposit.settled_at = DepositStatus.APPLIED, now
        paid_by_deposit = deposit.amount
        session.add(LedgerEntry(listing_id=listing.id, user_id=listing.winner_id, entry="deposit_applied",
                                amount=Decimal("0"), at=now, reference=str(deposit.amount)))
    session.add(LedgerEntry(listing_id=listing.id, user_id=listing.winner_id, entry="balance_paid",
                            amount=listing.sale_price - paid_by_deposit, at=now))
    session.add(LedgerEntry(listing_id=listing.id, org_id=listing.seller_org_id, entry="proceeds_to_seller",
                            amount=-listing.sale_price, at=now))
    listing.paid_at = now
    transfer = Transfer(listing_id=listing.id, asset_id=listing.asset_id, buyer_id=listing.winner_id,
                        price=listing.sale_price, at=now)
    session.add(transfer)
    _pass_the_right(session, actor, listing, now)
    _move(session, actor, listing, ListingStatus.SETTLED, now)
    transfer.claim_hook = hand_loss_to_claims(session, actor, listing, now)
    if listing.seller_org_id is not None:
        notify(session, msgid=N_("Lot %(lot)s “%(title)s” was paid and settled; the right is transferred."), now=now, org_id=listing.seller_org_id, link=f"/exchange/{listing.id}", lot=listing.id, title=listing.title)  # noqa: E501
    notify(session, msgid=N_("Lot %(lot)s “%(title)s” was paid and settled; the right is transferred."), now=now, user_id=listing.winner_id, link=f"/exchange/{listing.id}", lot=listing.id, title=listing.title)  # noqa: E501
    session.flush()
    return transfer


def _pass_the_right(session: Session, actor: User, listing: Listing, now: datetime) -> None:
    """After payment the pledge on the asset ends (the pledgee bank was paid from the sale) and, for a sale of the
    right itself, the asset belongs to the buyer's organisation (a person buyer: no owner organisation on record).
    A licence leaves ownership where it was."""
    from market.loans.models import Pledge

    asset = listing.asset
    before = snapshot(asset, ["owner_org_id", "pledge_state"])
    for pledge in session.scalars(select(Pledge).where(Pledge.asset_id == asset.id, Pledge.active.is_(True))):
        pledge.active, pledge.released_at = False, now
        record(session, actor=actor, action="pledge.released_by_disposal", entity_type="pledge",
               entity_id=pledge.id, now=now, after={"listing_id": listing.id})
    asset.pledge_state = PledgeState.FREE
    if listing.kind is not ListingKind.LICENCE:
        buyer = session.get(User, listing.winner_id)
        asset.owner_org_id = buyer.organisation_id if buyer is not None else None
    asset.updated_at = now
    session.flush()
    record(session, actor=actor, action="ip_asset.transferred", entity_type="ip_asset", entity_id=asset.id,
           now=now, before=before, after=snapshot(asset, ["owner_org_id", "pledge_state"]),
           note=f"listing {listing.id}")
    if listing.kind is not ListingKind.LICENCE:
        from market.needs.service import release_transferred_asset

        release_transferred_asset(session, actor, asset.id, now)  # the sold asset leaves the old owner's needs


OPEN_FOR_CLAIM = (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW, ListingStatus.ANNOUNCED, ListingStatus.BIDDING,
                  ListingStatus.SOLD)


def loan_recovery(session: Session, loan_id: int, final: bool = False) -> tuple[Decimal, int]:
    """Sum of the sale prices of the loan's settled lots, and how many of its lots are still open: in progress, or
    failed/unpaid auctions without a follow-up yet (a re-auction or fixed-price sale may come) unless `final`."""
    recovered = session.scalar(select(func.coalesce(func.sum(Listing.sale_price), 0)).where(
        Listing.loan_id == loan_id, Listing.status == ListingStatus.SETTLED))
    still_open = session.scalar(select(func.count()).select_from(Listing).where(
        Listing.loan_id == loan_id, Listing.status.in_(OPEN_FOR_CLAIM)))
    if not final:
        follow_up = select(Listing.previous_id).where(Listing.previous_id.is_not(None))
        still_open += session.scalar(select(func.count()).select_from(Listing).where(
            Listing.loan_id == loan_id, Listing.status.in_([ListingStatus.FAILED, ListingStatus.UNPAID]),
            Listing.round < 3, Listing.id.not_in(follow_up)))
    return Decimal(recovered), still_open


def hand_loss_to_claims(session: Session, actor: User, listing: Listing, now: datetime, final: bool = False) -> str:
    """Hand a defaulted loan's recovery to `market.loans.claims.assemble_claim` (loss = outstanding principal −
    recovery) once none of the loan's lots is open any more: the recovery is the sum of the loan's settled sale
    prices. A refusal there (e.g. a claim already made) does not undo the settlement and is recorded instead."""
    if listing.loan_id is None or listing.source is not ListingSource.DEFAULT:
        return "not a defaulted loan"
    try:
        from market.loans import claims as loans_claims
        from market.loans.models import Loan
    except ImportError:
        return "pending: market.loans.claims not available"
    assemble = getattr(loans_claims, "assemble_claim", None)
    loan = session.get(Loan, listing.loan_id)
    if assemble is None or loan is None:
        return "pending: market.loans.claims.assemble_claim or the loan not available"
    recovery, still_open = loan_recovery(session, loan.id, final)
    if still_open:
        return f"pending: {still_open} other lot(s) of loan {loan.id} still open"
    try:
        with session.begin_nested():
            claim = assemble(session, loan, recovery, now, actor=actor)
    except DomainError as exc:
        return f"not handed: {exc.message}"[:200]
    return f"claim {getattr(claim, 'id', '?')} assembled by market.loans.claims.assemble_claim (recovery {recovery})"


def end_loan_disposal(session: Session, actor: User, loan_id: int, now: datetime) -> str:
    """Staff end the disposal of a loan whose remaining lots failed (no re-auction or fixed-price sale wanted): the
    claim is assembled with what the settled lots recovered (possibly nothing)."""
    _require_actor(actor)
    if actor.role is not Role.STAFF:
        raise Forbidden("Only exchange staff can end a disposal.")
    listing = session.scalar(select(Listing).where(Listing.loan_id == loan_id, Listing.source == ListingSource.DEFAULT)
                             .order_by(Listing.id.desc()))
    if listing is None:
        raise NotFound("This loan has no listing.")
    if loan_recovery(session, loan_id, final=True)[1]:
        raise Conflict("A lot of this loan is still open.")
    outcome = hand_loss_to_claims(session, actor, listing, now, final=True)
    record(session, actor=actor, action="listing.disposal_ended", entity_type="listing", entity_id=listing.id,
           now=now, note=outcome)
    if outcome.startswith("not handed"):
        raise Conflict("The claim could not be assembled: %(reason)s", reason=outcome)
    return outcome
