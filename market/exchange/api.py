"""JSON API of the exchange, public side: listings, the live auction state and its bids, deposits and bids, the
winner's payment, objections to an announced lot, and each bidder's own deposits and ledger. The staff's disposal
desk is `api_desk`; the bodies are `schemas`."""

from __future__ import annotations

from flask import Response, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from market.accounts.models import Role
from market.api.auth import api_user
from market.db import db, utcnow
from market.errors import InvalidInput, NotFound
from market.exchange import disposal
from market.exchange.bidding import bid_error, place_bid
from market.exchange.deposits import deposits_by, ledger_of, pay_deposit
from market.exchange.listings import get_listing
from market.exchange.models import Bid, Listing, ListingStatus
from market.exchange.schemas import (
    AuctionOut,
    BidIn,
    BidPage,
    BidPageQuery,
    BidResult,
    DepositIn,
    DepositOut,
    ListingDetailOut,
    ListingPage,
    ListingQuery,
    MyDeposits,
    ObjectionIn,
    ObjectionOut,
    PaymentOut,
)
from market.exchange.settlement import record_payment
from market.exchange.views_state import PUBLIC, auction_state, bid_page, public_listings, state_etag
from market.security import bid_rate_limit
from market.work import commit_or_rollback

blp = Blueprint("exchange_api", __name__, url_prefix="/api/v1", description="IP exchange: disposal auctions")


def public_listing(listing_id: int) -> Listing:
    listing = get_listing(db.session, listing_id)
    if listing.status not in PUBLIC:
        raise NotFound("This listing does not exist.")
    return listing


@blp.route("/listings")
class Listings(MethodView):
    @blp.arguments(ListingQuery, location="query")
    @blp.response(200, ListingPage)
    def get(self, args):
        """Public listings (announced, in bidding and closed), newest first; filter by phase, kind, IPC prefix."""
        query = public_listings(args.get("phase"), args.get("kind"), args.get("ipc"))
        if args.get("status"):
            query = query.where(Listing.status == ListingStatus(args["status"]))
        items = db.session.scalars(query.limit(200)).all()
        return {"total": len(items), "items": items}


@blp.route("/listings/<int:listing_id>")
class ListingOne(MethodView):
    @blp.response(200, ListingDetailOut)
    def get(self, listing_id):
        """One public listing with its due-diligence pack."""
        return public_listing(listing_id)


@blp.route("/auctions/<int:listing_id>")
class Auction(MethodView):
    @blp.response(200, AuctionOut)
    @blp.alt_response(304, description="Not modified: the state is the one named by If-None-Match")
    def get(self, listing_id):
        """The live state: price, next minimum bid, end (moves with late bids), the latest bids under bidder codes
        and the bid count. Pollers send `If-None-Match` with the last `ETag` and get a bodyless 304 while nothing
        changed (the ETag follows every bid, deposit and change of status)."""
        listing = public_listing(listing_id)
        now = utcnow()
        tag = state_etag(db.session, listing, now)
        if tag in request.if_none_match:
            response = Response(status=304)
        else:
            response = jsonify(AuctionOut().dump(auction_state(db.session, listing, now)))
        response.set_etag(tag)
        response.headers["Cache-Control"] = "no-cache"
        return response


@blp.route("/auctions/<int:listing_id>/bid-history")
class AuctionBids(MethodView):
    @blp.arguments(BidPageQuery, location="query")
    @blp.response(200, BidPage)
    def get(self, args, listing_id):
        """Older accepted bids, newest first: `before` a bid id (from the state's `older_bids` link), `limit` each."""
        listing = public_listing(listing_id)
        bids, older = bid_page(db.session, listing, args.get("before"), args["limit"])
        return {"bids": bids, "bid_count": listing.bid_count,
                "older_bids": url_for("exchange_api.AuctionBids", listing_id=listing_id, before=older,
                                      limit=args["limit"]) if older else None}


@blp.route("/auctions/<int:listing_id>/deposits")
class Deposits(MethodView):
    @blp.arguments(DepositIn)
    @blp.response(201, DepositOut)
    @api_user(scope="write")
    def post(self, data, listing_id, actor):
        """Pay the deposit (simulated payment recorded in the lot's ledger) and accept the lot's announcement and
        bidder terms (`accept_terms` must be true; 422 otherwise); returns the bidder code."""
        public_listing(listing_id)
        if not data["accept_terms"]:
            raise InvalidInput("Accept the announcement and the bidder terms to pay the deposit.")
        db.session.commit()  # start clean: the lot's lock is the deposit transaction's first statement
        return commit_or_rollback(lambda: pay_deposit(db.session, actor, listing_id, utcnow(),
                                                      terms_version=data["terms_version"]))


@blp.route("/auctions/<int:listing_id>/bids")
class Bids(MethodView):
    decorators = [bid_rate_limit()]

    @blp.arguments(BidIn)
    @blp.response(201, BidResult)
    @api_user(*Role, scope="write")
    def post(self, data, listing_id, actor):
        """Place a bid: 201 accepted; 409 outbid or closed; 422 below the minimum; 403 without a held deposit."""
        db.session.commit()  # end the token lookup's read so the bid transaction starts with the lot's lock
        bid: Bid = commit_or_rollback(lambda: place_bid(db.session, actor, listing_id, data["amount"], utcnow()))
        if not bid.accepted:  # refused bids are kept (committed) too
            raise bid_error(bid)
        return bid


@blp.route("/auctions/<int:listing_id>/payment")
class AuctionPayment(MethodView):
    @blp.response(200, PaymentOut)
    @api_user(scope="write")
    def post(self, listing_id, actor):
        """Confirm the settlement of a sold lot (the winner, or staff for the winner): the deposit counts towards
        the price, the balance is paid, the right passes to the buyer and, for a defaulted loan, the recovery goes
        to its compensation claim. 409 when the lot is not awaiting payment or the deadline has passed."""
        listing = public_listing(listing_id)
        return commit_or_rollback(lambda: record_payment(db.session, actor, listing, utcnow()))


@blp.route("/listings/<int:listing_id>/objections")
class ListingObjections(MethodView):
    @blp.arguments(ObjectionIn)
    @blp.response(201, ObjectionOut)
    @api_user(scope="write")
    def post(self, data, listing_id, actor):
        """Object to an announced lot before bidding starts (any verified user); staff decide on it, and the lot does
        not open for bidding while an objection is open."""
        listing = public_listing(listing_id)
        return commit_or_rollback(lambda: disposal.file_objection(db.session, actor, listing, data["reason"], utcnow()))


@blp.route("/deposits")
class MyDepositsView(MethodView):
    @blp.response(200, MyDeposits)
    @api_user()
    def get(self, actor):
        """The caller's own deposits over all lots (newest first) and deposit ledger: paid, refunded at the close,
        applied to the price or forfeited."""
        return {"deposits": deposits_by(db.session, actor), "ledger": ledger_of(db.session, actor)}
