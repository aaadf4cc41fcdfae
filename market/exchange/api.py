"""JSON API of the exchange: listings, the live auction state, deposits and bids."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from market.accounts.models import Role
from market.api.auth import api_user
from market.api.fields import UtcDateTime
from market.db import db, utcnow
from market.exchange import service
from market.exchange.models import Bid, Listing, ListingStatus
from market.exchange.views_state import auction_state

blp = Blueprint("exchange_api", __name__, url_prefix="/api/v1", description="IP exchange: disposal auctions")

PUBLIC = [s for s in ListingStatus if s not in (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW)]


class BidOut(Schema):
    code = fields.String()
    amount = fields.Decimal(as_string=True)
    placed_at = UtcDateTime()
    preemption = fields.Boolean()


class AuctionOut(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    kind = fields.String()
    round = fields.Integer()
    starting_price = fields.Decimal(as_string=True)
    increment = fields.Decimal(as_string=True)
    deposit_amount = fields.Decimal(as_string=True)
    valuation = fields.Decimal(as_string=True)
    current_price = fields.Decimal(as_string=True, allow_none=True)
    next_min_bid = fields.Decimal(as_string=True, allow_none=True)
    bidding_starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    server_time = UtcDateTime()
    bid_count = fields.Integer()
    leader_code = fields.String(allow_none=True)
    winner_code = fields.String(allow_none=True)
    sale_price = fields.Decimal(as_string=True, allow_none=True)
    bids = fields.List(fields.Nested(BidOut))


class ListingOut(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    kind = fields.String()
    source = fields.String()
    round = fields.Integer()
    valuation = fields.Decimal(as_string=True)
    starting_price = fields.Decimal(as_string=True)
    current_price = fields.Decimal(as_string=True, allow_none=True)
    sale_price = fields.Decimal(as_string=True, allow_none=True)
    notice_starts_at = UtcDateTime()
    bidding_starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    url = fields.String()


class ListingDetailOut(ListingOut):
    increment = fields.Decimal(as_string=True)
    deposit_amount = fields.Decimal(as_string=True)
    due_diligence = fields.Dict()
    rules_version = fields.String()


class ListingPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(ListingOut))


class ListingQuery(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in PUBLIC]))


class BidIn(Schema):
    amount = fields.Decimal(required=True, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))


class BidResult(Schema):
    id = fields.Integer()
    code = fields.String()
    amount = fields.Decimal(as_string=True)
    placed_at = UtcDateTime()
    ends_at = UtcDateTime()
    accepted = fields.Boolean()


class DepositOut(Schema):
    code = fields.String()
    amount = fields.Decimal(as_string=True)
    status = fields.String()
    paid_at = UtcDateTime()


def _public_listing(listing_id: int) -> Listing:
    listing = service.get_listing(db.session, listing_id)
    if listing.status not in PUBLIC:
        raise service.NotFound("This listing does not exist.")
    return listing


def _listing_dict(listing: Listing) -> dict:
    out = {c: getattr(listing, c) for c in ("id", "title", "round", "valuation", "starting_price", "current_price",
                                              "notice_starts_at", "bidding_starts_at", "ends_at", "increment",
                                              "deposit_amount", "due_diligence", "rules_version")}
    out.update(status=listing.status.value, kind=listing.kind.value, source=listing.source.value,
               sale_price=listing.sale_price if listing.status in (ListingStatus.SOLD, ListingStatus.SETTLED) else None,
               url=url_for("exchange.auction", listing_id=listing.id))
    return out


@blp.route("/listings")
class Listings(MethodView):
    @blp.arguments(ListingQuery, location="query")
    @blp.response(200, ListingPage)
    def get(self, args):
        """Public listings (announced, in bidding and closed), newest first."""
        query = select(Listing).where(Listing.status.in_(PUBLIC)).order_by(Listing.id.desc())
        if args.get("status"):
            query = query.where(Listing.status == ListingStatus(args["status"]))
        items = [_listing_dict(x) for x in db.session.scalars(query.limit(200))]
        return {"total": len(items), "items": items}


@blp.route("/listings/<int:listing_id>")
class ListingOne(MethodView):
    @blp.response(200, ListingDetailOut)
    def get(self, listing_id):
        """One public listing with its due-diligence pack."""
        return _listing_dict(_public_listing(listing_id))


@blp.route("/auctions/<int:listing_id>")
class Auction(MethodView):
    @blp.response(200, AuctionOut)
    def get(self, listing_id):
        """The live state: price, next minimum bid, end (moves with late bids), bids under bidder codes."""
        return auction_state(db.session, _public_listing(listing_id), utcnow())


@blp.route("/auctions/<int:listing_id>/deposits")
class Deposits(MethodView):
    @blp.response(201, DepositOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(scope="write")
    def post(self, listing_id, actor):
        """Pay the deposit (simulated payment recorded in the lot's ledger); returns the bidder code."""
        _public_listing(listing_id)
        db.session.commit()  # start clean: the lot's lock is the deposit transaction's first statement
        deposit = service.pay_deposit(db.session, actor, listing_id, utcnow())
        db.session.commit()
        return {"code": deposit.code, "amount": deposit.amount, "status": deposit.status.value,
                "paid_at": deposit.paid_at}


@blp.route("/auctions/<int:listing_id>/bids")
class Bids(MethodView):
    @blp.arguments(BidIn)
    @blp.response(201, BidResult)
    @blp.doc(security=[{"bearer": []}])
    @api_user(*Role, scope="write")
    def post(self, data, listing_id, actor):
        """Place a bid: 201 accepted; 409 outbid or closed; 422 below the minimum; 403 without a held deposit."""
        db.session.commit()  # end the token lookup's read so the bid transaction starts with the lot's lock
        bid: Bid = service.place_bid(db.session, actor, listing_id, data["amount"], utcnow())
        db.session.commit()  # refused bids are kept too
        if not bid.accepted:
            raise service.bid_error(bid)
        return {"id": bid.id, "code": bid.code, "amount": bid.amount, "placed_at": bid.placed_at,
                "ends_at": bid.ends_at_after, "accepted": True}
