"""Exchange pages: public listings and results, the live auction page, deposit and bid forms."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from market.db import db, utcnow
from market.exchange import preemption as holders
from market.exchange import rules
from market.exchange.bidding import bid_error, place_bid
from market.exchange.deposits import ledger_of, pay_deposit
from market.exchange.forms import ActionForm, BidForm, DepositForm, ObjectionForm
from market.exchange.models import Bid, Deposit, Listing, ListingKind, ListingStatus
from market.exchange.settlement import outstanding_principal
from market.exchange.terms import terms_version
from market.exchange.views_state import PHASES, auction_state, licence_terms, phase_of, public_listings
from market.formkit import flash_errors
from market.loans.access import may_see
from market.loans.models import Loan
from market.security import bid_rate_limit
from market.work import commit_or_flash

exchange_bp = Blueprint("exchange", __name__, url_prefix="/exchange")

HIDDEN = (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW)
DONE = (ListingStatus.SOLD, ListingStatus.SETTLED, ListingStatus.UNPAID, ListingStatus.FAILED)


def _public(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.status in HIDDEN:
        abort(404)
    return listing


def loan_visible(listing: Listing) -> bool:
    """Whether the lot's defaulted loan is linked to its page: only for people the loans area lets see it."""
    if listing.loan_id is None or not current_user.is_authenticated:
        return False
    loan = db.session.get(Loan, listing.loan_id)
    return loan is not None and may_see(current_user, loan)


@exchange_bp.get("/")
def listings():
    """Upcoming, live and finished lots (tabs), filtered by kind and an IPC prefix."""
    phase = request.args.get("phase") if request.args.get("phase") in PHASES else None
    kind = request.args.get("kind") if request.args.get("kind") in {k.value for k in ListingKind} else None
    ipc = (request.args.get("ipc") or "").strip()[:20] or None
    rows = db.session.scalars(public_listings(phase, kind, ipc).limit(200)).all()
    now = utcnow()
    return render_template("exchange/listings.html", listings=[(r, phase_of(r, now)) for r in rows], phase=phase,
                           kind=kind, ipc=ipc or "", phases=list(PHASES))


@exchange_bp.get("/results")
def results():
    """Public results after the close: the winner (by bidder code), sale price against valuation and, for a defaulted
    loan, against its outstanding principal."""
    rows = db.session.scalars(select(Listing).where(Listing.status.in_(DONE)).order_by(Listing.closed_at.desc())
                              .limit(200)).all()
    codes = dict(((d.listing_id, d.bidder_id), d.code) for d in db.session.scalars(select(Deposit).where(
        Deposit.listing_id.in_([r.id for r in rows])))) if rows else {}
    results = [{"listing": r, "winner_code": codes.get((r.id, r.winner_id)) if r.winner_id else None,
                "outstanding": outstanding_principal(db.session, r)} for r in rows]
    return render_template("exchange/results.html", results=results)


@exchange_bp.get("/<int:listing_id>")
def auction(listing_id: int):
    """The lot as a bidder needs it: announcement and bidder terms (accepted with the deposit), the live state with
    the bidder's own standing, and after the end the result instead of any button."""
    listing = _public(listing_id)
    mine, ledger, holder, i_bid = None, [], False, False
    if current_user.is_authenticated:
        mine = db.session.scalar(select(Deposit).where(Deposit.listing_id == listing.id,
                                                       Deposit.bidder_id == current_user.id))
        i_bid = mine is not None and db.session.scalar(select(Bid.id).where(
            Bid.listing_id == listing.id, Bid.bidder_id == current_user.id, Bid.accepted.is_(True))
            .limit(1)) is not None
        ledger = ledger_of(db.session, current_user, listing.id)
        holder = holders.is_holder(db.session, listing.id, current_user.id)
    state = auction_state(db.session, listing, utcnow())
    my_min = state["next_min_bid"]
    if holder and state["phase"] == "live" and listing.kind is not ListingKind.FIXED_PRICE:
        my_min = rules.next_min_bid(listing.starting_price, listing.increment, listing.current_price, True,
                                    listing.leader_preemption)
    return render_template("exchange/auction.html", listing=listing, state=state, mine=mine,
                           bid_form=BidForm(amount=my_min), my_min=my_min, holder=holder, i_bid=i_bid,
                           action_form=ActionForm(),
                           deposit_form=DepositForm(terms_version=terms_version(listing)),
                           terms_version=terms_version(listing), licence=licence_terms(listing),
                           holders=holders.public_summary(db.session, listing.id),
                           objection_form=ObjectionForm(), ledger=ledger, loan_visible=loan_visible(listing))


@exchange_bp.post("/<int:listing_id>/deposit")
@login_required
def deposit(listing_id: int):
    _public(listing_id)
    form = DepositForm()
    if not form.validate_on_submit():
        flash(_("Accept the announcement and the bidder terms to pay the deposit."), "error")
    else:
        db.session.commit()  # start clean: the lot's lock is the deposit transaction's first statement
        ok, made = commit_or_flash(lambda: pay_deposit(db.session, current_user, listing_id, utcnow(),
                                                       terms_version=form.terms_version.data or None))
        if ok:
            flash(_("Deposit paid. You bid as %(code)s.", code=_("Bidder %(code)s", code=made.code)), "success")
    return redirect(url_for("exchange.auction", listing_id=listing_id))


@exchange_bp.post("/<int:listing_id>/bid")
@login_required
@bid_rate_limit()
def bid(listing_id: int):
    form = BidForm()
    if not form.validate_on_submit():
        flash_errors(form, _("Enter an amount in yuan with at most two decimals."))
        return redirect(url_for("exchange.auction", listing_id=listing_id))
    db.session.commit()  # start the bid transaction clean: the lot's lock must be its first statement
    ok, placed = commit_or_flash(lambda: place_bid(db.session, current_user, listing_id, form.amount.data, utcnow()))
    if ok and placed.accepted:  # a refused bid is kept (committed) too, and its reason shown
        flash(_("Your bid was accepted."), "success")
    elif ok:
        flash(bid_error(placed).localized(), "error")
    return redirect(url_for("exchange.auction", listing_id=listing_id))
