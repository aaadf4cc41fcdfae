"""JSON API of the exchange: listings, the live auction state, deposits and bids; the staff's disposal desk (defaulted
pledges to list, review with the checklist, objections, cancel, re-auction, fixed-price sale, settlement); each
bidder's own deposits and ledger."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from flask import Response, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from market.accounts.models import Role
from market.api.auth import api_user
from market.api.fields import UtcDateTime, bounded, row_id
from market.bounded import SHARE
from market.db import db, utcnow
from market.errors import InvalidInput, NotFound
from market.exchange import disposal, service
from market.exchange import preemption as holders
from market.exchange.models import (
    Bid,
    Deposit,
    Listing,
    ListingKind,
    ListingSource,
    ListingStatus,
    NoticeMethod,
    Objection,
    ObjectionStatus,
    PreemptionKind,
)
from market.exchange.terms import terms_version
from market.exchange.views_state import PHASES, auction_state, bid_page, licence_terms, public_listings, state_etag
from market.security import bid_rate_limit
from market.work import commit_or_rollback as _act

blp = Blueprint("exchange_api", __name__, url_prefix="/api/v1", description="IP exchange: disposal auctions")

PUBLIC = [s for s in ListingStatus if s not in (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW)]



def _amount(**kw):
    """An amount in yuan on the way in: positive, at most two decimals, within the stated maximum
    (market.bounded.AMOUNT)."""
    return bounded(**kw)


class BidOut(Schema):
    id = fields.Integer()
    code = fields.String()
    amount = fields.Decimal(as_string=True)
    placed_at = UtcDateTime()
    preemption = fields.Boolean()


class AuctionOut(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    phase = fields.String(metadata={"description": "upcoming, live or finished (past the end even before the clock "
                                                   "closes the lot; winner_code/unsold then give the result)"})
    unsold = fields.Boolean(metadata={"description": "the lot ended without a bid"})
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
    bid_count = fields.Integer(metadata={"description": "accepted bids in all; `bids` holds the latest ones"})
    extension_count = fields.Integer(metadata={"description": "late bids that moved the end"})
    registered_bidders = fields.Integer(metadata={"description": "bidders who paid the deposit"})
    leader_code = fields.String(allow_none=True)
    leader_preemption = fields.Boolean(metadata={"description": "the leader holds a pre-emption right"})
    winner_code = fields.String(allow_none=True)
    sale_price = fields.Decimal(as_string=True, allow_none=True)
    bids = fields.List(fields.Nested(BidOut), metadata={
        "description": "the latest accepted bids, newest first (at most LATEST_BIDS); older ones: `older_bids`"})
    older_bids = fields.String(allow_none=True, metadata={
        "description": "URL of the next page of older bids, or null when `bids` holds them all"})


class BidPage(Schema):
    bids = fields.List(fields.Nested(BidOut))
    bid_count = fields.Integer()
    older_bids = fields.String(allow_none=True)


class BidPageQuery(Schema):
    before = row_id(strict=False, metadata={"description": "only bids older than this bid id"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class LicenceTerms(Schema):
    exclusive = fields.Boolean(required=True)
    territory = fields.String(required=True, validate=validate.Length(min=1, max=200))
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 600))
    royalty = bounded(SHARE, allow_none=True, load_default=None,
                      metadata={"description": "share of net sales on top of the price, 0–1"})


class HolderSummary(Schema):
    kind = fields.String()
    count = fields.Integer()


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
    ipc = fields.List(fields.String())
    licence = fields.Nested(LicenceTerms, allow_none=True, metadata={"description": "licence lots only"})


class ListingDetailOut(ListingOut):
    increment = fields.Decimal(as_string=True)
    deposit_amount = fields.Decimal(as_string=True)
    due_diligence = fields.Dict()
    rules_version = fields.String()
    description = fields.String(allow_none=True)
    terms_version = fields.String(metadata={"description": "the announcement and bidder terms a deposit accepts"})
    preemption = fields.List(fields.Nested(HolderSummary), metadata={
        "description": "known pre-emption holders by kind (co_owner, exclusive_licensee): they win a tie"})


class ListingPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(ListingOut))


class ListingQuery(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in PUBLIC]))
    phase = fields.String(validate=validate.OneOf(list(PHASES)),
                          metadata={"description": "upcoming (announced), live (bidding) or finished"})
    kind = fields.String(validate=validate.OneOf([k.value for k in ListingKind]))
    ipc = fields.String(validate=validate.Length(min=1, max=20), metadata={"description": "IPC code prefix"})


class BidIn(Schema):
    amount = _amount(required=True)


class BidResult(Schema):
    id = fields.Integer()
    code = fields.String()
    amount = fields.Decimal(as_string=True)
    placed_at = UtcDateTime()
    ends_at = UtcDateTime()
    accepted = fields.Boolean()


class DepositIn(Schema):
    accept_terms = fields.Boolean(required=True, metadata={
        "description": "true: the bidder accepts the lot's announcement and bidder terms (required)"})
    terms_version = fields.String(load_default=None, validate=validate.Length(max=80), metadata={
        "description": "the version read (the listing's terms_version); a different current version is a 409"})


class DepositOut(Schema):
    code = fields.String()
    terms_version = fields.String()
    terms_accepted_at = UtcDateTime()
    amount = fields.Decimal(as_string=True)
    status = fields.String()
    paid_at = UtcDateTime()


def _public_listing(listing_id: int) -> Listing:
    listing = service.get_listing(db.session, listing_id)
    if listing.status not in PUBLIC:
        raise service.NotFound("This listing does not exist.")
    return listing


def _listing_dict(listing: Listing, detail: bool = True) -> dict:
    out = {c: getattr(listing, c) for c in ("id", "title", "round", "valuation", "starting_price", "current_price",
                                              "notice_starts_at", "bidding_starts_at", "ends_at", "increment",
                                              "deposit_amount", "due_diligence", "rules_version", "description")}
    out.update(status=listing.status.value, kind=listing.kind.value, source=listing.source.value,
               sale_price=listing.sale_price if listing.status in (ListingStatus.SOLD, ListingStatus.SETTLED) else None,
               url=url_for("exchange.auction", listing_id=listing.id), ipc=list(listing.asset.ipc_codes or []),
               licence=licence_terms(listing))
    if detail:
        out.update(terms_version=terms_version(listing), preemption=holders.public_summary(db.session, listing.id))
    return out


@blp.route("/listings")
class Listings(MethodView):
    @blp.arguments(ListingQuery, location="query")
    @blp.response(200, ListingPage)
    def get(self, args):
        """Public listings (announced, in bidding and closed), newest first; filter by phase, kind, IPC prefix."""
        query = public_listings(args.get("phase"), args.get("kind"), args.get("ipc"))
        if args.get("status"):
            query = query.where(Listing.status == ListingStatus(args["status"]))
        items = [_listing_dict(x, detail=False) for x in db.session.scalars(query.limit(200))]
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
    @blp.alt_response(304, description="Not modified: the state is the one named by If-None-Match")
    def get(self, listing_id):
        """The live state: price, next minimum bid, end (moves with late bids), the latest bids under bidder codes
        and the bid count. Pollers send `If-None-Match` with the last `ETag` and get a bodyless 304 while nothing
        changed (the ETag follows every bid, deposit and change of status)."""
        listing = _public_listing(listing_id)
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
        listing = _public_listing(listing_id)
        bids, older = bid_page(db.session, listing, args.get("before"), args["limit"])
        return {"bids": bids, "bid_count": listing.bid_count,
                "older_bids": url_for("exchange_api.AuctionBids", listing_id=listing_id, before=older,
                                      limit=args["limit"]) if older else None}


@blp.route("/auctions/<int:listing_id>/deposits")
class Deposits(MethodView):
    @blp.arguments(DepositIn)
    @blp.response(201, DepositOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(scope="write")
    def post(self, data, listing_id, actor):
        """Pay the deposit (simulated payment recorded in the lot's ledger) and accept the lot's announcement and
        bidder terms (`accept_terms` must be true; 422 otherwise); returns the bidder code."""
        _public_listing(listing_id)
        if not data["accept_terms"]:
            raise InvalidInput("Accept the announcement and the bidder terms to pay the deposit.")
        db.session.commit()  # start clean: the lot's lock is the deposit transaction's first statement
        deposit = service.pay_deposit(db.session, actor, listing_id, utcnow(), terms_version=data["terms_version"])
        db.session.commit()
        return {"code": deposit.code, "amount": deposit.amount, "status": deposit.status.value,
                "paid_at": deposit.paid_at, "terms_version": deposit.terms_version,
                "terms_accepted_at": deposit.terms_accepted_at}


@blp.route("/auctions/<int:listing_id>/bids")
class Bids(MethodView):
    decorators = [bid_rate_limit()]

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


# ------------------------------------------------------------------------------------------------ helpers of the desk


class UtcDateTimeIn(UtcDateTime):
    """A date-time on the way in: with an offset it is converted to UTC, without one it is taken as UTC; stored
    naive. Years outside 2000–2199 are refused (no auction is scheduled there)."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is not None:
            result = result.astimezone(UTC).replace(tzinfo=None)
        if not 2000 <= result.year < 2200:
            raise ValidationError("Give a date between the years 2000 and 2199.")
        return result


def _staff_or_author(actor, listing: Listing) -> None:
    if actor.role is not Role.STAFF and actor.id != listing.created_by_id:
        raise NotFound("This listing does not exist.")


# ------------------------------------------------------------------------------------------------ desk schemas

class ObjectionOut(Schema):
    id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    status = fields.String(required=True)
    reason = fields.String(required=True)
    user_id = fields.Integer(required=True)
    org_id = fields.Integer(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    resolved_at = UtcDateTime(allow_none=True, required=True)
    resolution = fields.String(allow_none=True, required=True)


class ObjectionList(Schema):
    items = fields.List(fields.Nested(ObjectionOut), required=True)


class DeskDepositOut(Schema):
    code = fields.String(required=True)
    bidder_id = fields.Integer(allow_none=True, required=True,
                               metadata={"description": "The bidder's user id: staff only, others once the lot closed "
                                                        "(null otherwise: bidders appear under codes)"})
    amount = fields.Decimal(as_string=True, required=True)
    status = fields.String(required=True)
    paid_at = UtcDateTime(required=True)
    settled_at = UtcDateTime(allow_none=True, required=True)
    terms_version = fields.String(allow_none=True, required=True)
    terms_accepted_at = UtcDateTime(allow_none=True, required=True)


class DeskListingOut(ListingDetailOut):
    asset_id = fields.Integer(required=True)
    loan_id = fields.Integer(allow_none=True, required=True)
    bank_org_id = fields.Integer(allow_none=True, required=True)
    seller_org_id = fields.Integer(allow_none=True, required=True)
    owner_org_id = fields.Integer(allow_none=True, required=True)
    previous_id = fields.Integer(allow_none=True, required=True)
    created_by_id = fields.Integer(allow_none=True, required=True)
    scheduled_ends_at = UtcDateTime(required=True)
    bid_count = fields.Integer(required=True)
    winner_code = fields.String(allow_none=True, required=True)
    closed_at = UtcDateTime(allow_none=True, required=True)
    payment_due_at = UtcDateTime(allow_none=True, required=True)
    paid_at = UtcDateTime(allow_none=True, required=True)
    checklist = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)
    checklist_items = fields.List(fields.String(), required=True)
    review_note = fields.String(allow_none=True, required=True)
    objections = fields.List(fields.Nested(ObjectionOut), required=True)
    deposits = fields.List(fields.Nested(DeskDepositOut), required=True)
    holders = fields.List(fields.Nested(lambda: HolderOut()), required=True)


class DeskListingList(Schema):
    items = fields.List(fields.Nested(DeskListingOut), required=True)


class DeskListingRow(ListingOut):
    loan_id = fields.Integer(allow_none=True, required=True)
    created_by_id = fields.Integer(allow_none=True, required=True)


class DeskListingPage(Schema):
    total = fields.Integer(required=True)
    items = fields.List(fields.Nested(DeskListingRow), required=True)


class DeskListingQuery(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in ListingStatus]))
    loan_id = row_id()


def _objection_dict(o: Objection) -> dict:
    return {"id": o.id, "listing_id": o.listing_id, "status": o.status.value, "reason": o.reason, "user_id": o.user_id,
            "org_id": o.org_id, "created_at": o.created_at, "resolved_at": o.resolved_at, "resolution": o.resolution}


def _desk_dict(listing: Listing, actor) -> dict:
    """The desk's view of a listing; bidders' user ids only for staff, or for the lot's author once it closed
    (until then everyone else sees codes: `service.bidder_identities_visible`)."""
    deposits = db.session.scalars(select(Deposit).where(Deposit.listing_id == listing.id).order_by(Deposit.id)).all()
    codes = {d.bidder_id: d.code for d in deposits}
    who = service.bidder_identities_visible(actor, listing)
    out = _listing_dict(listing)
    out.update({c: getattr(listing, c) for c in ("asset_id", "loan_id", "bank_org_id", "seller_org_id",
                                                 "owner_org_id", "previous_id", "created_by_id",
                                                 "scheduled_ends_at", "bid_count", "closed_at", "payment_due_at",
                                                 "paid_at", "review_note")})
    out.update(winner_code=codes.get(listing.winner_id) if listing.winner_id else None,
               checklist=dict(listing.checklist or {}), checklist_items=list(service.CHECKLIST),
               objections=[_objection_dict(o) for o in disposal.objections_of(db.session, listing.id)],
               deposits=[{"code": d.code, "bidder_id": d.bidder_id if who else None, "amount": d.amount,
                          "status": d.status.value, "paid_at": d.paid_at, "settled_at": d.settled_at,
                          "terms_version": d.terms_version, "terms_accepted_at": d.terms_accepted_at}
                         for d in deposits],
               holders=_holders(listing.id, who))
    return out


def _holders(listing_id: int, who: bool = True) -> list[dict]:
    """The lot's pre-emption holders with their notices; a holder's bidder account only where bidders' ids show."""
    notices = holders.notices_of(db.session, listing_id)
    return [{"id": h.id, "name": h.name, "kind": h.kind.value, "user_id": h.user_id if who else None,
             "notified_at": h.notified_at,
             "registered_at": h.registered_at,
             "notices": [{"told_at": n.told_at, "method": n.method.value, "note": n.note,
                          "recorded_by_id": n.recorded_by_id, "recorded_at": n.recorded_at}
                         for n in notices.get(h.id, [])]} for h in holders.holders_of(db.session, listing_id)]


class HolderNoticeOut(Schema):
    told_at = UtcDateTime(required=True)
    method = fields.String(required=True)
    note = fields.String(allow_none=True, required=True)
    recorded_by_id = fields.Integer(required=True)
    recorded_at = UtcDateTime(required=True)


class HolderOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    user_id = fields.Integer(allow_none=True, required=True)
    notified_at = UtcDateTime(allow_none=True, required=True)
    registered_at = UtcDateTime(allow_none=True, required=True)
    notices = fields.List(fields.Nested(HolderNoticeOut), required=True)


class HolderIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in PreemptionKind]))
    user_id = row_id(load_default=None, allow_none=True, metadata={"description": "their bidder account, if any"})


class HolderNoticeIn(Schema):
    told_at = UtcDateTimeIn(required=True)
    method = fields.String(required=True, validate=validate.OneOf([m.value for m in NoticeMethod]))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


# ------------------------------------------------------------------------------------------------ defaulted loans

class WaitingAssetOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    application_number = fields.String(allow_none=True, required=True)
    valuation = fields.Decimal(as_string=True, allow_none=True, required=True,
                               metadata={"description": "The valuation report in force, if any (else one must be "
                                                        "given when listing)"})
    valuation_source = fields.String(allow_none=True, required=True)


class WaitingLoanOut(Schema):
    loan_id = fields.Integer(required=True)
    status = fields.String(required=True)
    bank_org_id = fields.Integer(required=True)
    enterprise_org_id = fields.Integer(required=True)
    defaulted_on = fields.Date(allow_none=True, required=True)
    outstanding_principal = fields.Decimal(as_string=True, required=True)
    assets = fields.List(fields.Nested(WaitingAssetOut), required=True)


class WaitingLoanList(Schema):
    items = fields.List(fields.Nested(WaitingLoanOut), required=True)


class AssetValuationIn(Schema):
    asset_id = row_id(required=True)
    amount = _amount(required=True)


class ListLoanIn(Schema):
    valuations = fields.List(fields.Nested(AssetValuationIn), load_default=list, validate=validate.Length(max=50),
                             metadata={"description": "Valuations of assets without a valuation report in force"})

    @validates_schema
    def _distinct(self, data, **kwargs):
        ids = [v["asset_id"] for v in data.get("valuations", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("An asset is valued twice.", "valuations")


def _waiting(actor) -> list:
    rows = disposal.defaulted_loans_to_list(db.session)
    if actor.role is Role.BANK:
        rows = [(loan, assets) for loan, assets in rows if loan.bank_org_id == actor.organisation_id]
    return rows


@blp.route("/disposal/loans")
class DisposalQueue(MethodView):
    @blp.response(200, WaitingLoanList)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, Role.BANK)
    def get(self, actor):
        """Defaulted loans whose pledged assets wait to be listed for disposal (staff: all; a bank: its own), with
        the valuation report in force for each asset when there is one."""
        from market.loans.schedule import outstanding_principal

        today = utcnow().date()
        items = []
        for loan, assets in _waiting(actor):
            rows = []
            for asset in assets:
                found = service.latest_valuation(db.session, asset, today)
                rows.append({"id": asset.id, "title": asset.title, "kind": asset.kind.value,
                             "application_number": asset.application_number,
                             "valuation": Decimal(found["amount"]) if found else None,
                             "valuation_source": found["source"] if found else None})
            items.append({"loan_id": loan.id, "status": loan.status.value, "bank_org_id": loan.bank_org_id,
                          "enterprise_org_id": loan.enterprise_org_id, "defaulted_on": loan.defaulted_on,
                          "outstanding_principal": outstanding_principal(loan), "assets": rows})
        return {"items": items}


@blp.route("/disposal/loans/<int:loan_id>/listings")
class DisposalListLoan(MethodView):
    @blp.arguments(ListLoanIn)
    @blp.response(201, DeskListingList)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        """List a defaulted loan's pledges for disposal (staff, or the lending bank), as the web's "list for
        disposal": one auction per actively pledged asset not yet listed, at the rules' default terms, submitted for
        staff review; the loan moves to in_disposal. An asset's valuation is its report in force, else the one given
        here (422 when neither). 404 unknown loan, 403 another bank's loan, 409 not defaulted or all listed."""
        from market.loans.access import get_loan

        valuations = {v["asset_id"]: v["amount"] for v in data["valuations"]}

        def list_it():
            loan = get_loan(db.session, loan_id)
            pledged = {p.asset_id for p in loan.pledges if p.active}
            stray = sorted(set(valuations) - pledged)
            if stray:
                raise InvalidInput("Asset %(asset)s is not pledged for this loan.", asset=stray[0])
            return disposal.list_loan_for_disposal(db.session, actor, loan_id, utcnow(), valuations)

        made = _act(list_it)
        return {"items": [_desk_dict(x, actor) for x in made]}


class EndOut(Schema):
    loan_id = fields.Integer(required=True)
    loan_status = fields.String(required=True)
    claim_id = fields.Integer(allow_none=True, required=True)
    outcome = fields.String(required=True)


@blp.route("/disposal/loans/<int:loan_id>/end")
class DisposalEnd(MethodView):
    @blp.response(200, EndOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, loan_id, actor):
        """End a loan's disposal when none of its lots is open any more (staff): the compensation claim is assembled
        with what the settled lots recovered. 409 while a lot is open or when the claim cannot be assembled."""
        from market.loans.access import get_loan
        from market.loans.claims import loan_claim

        outcome = _act(lambda: service.end_loan_disposal(db.session, actor, loan_id, utcnow()))
        claim = loan_claim(db.session, loan_id)
        return {"loan_id": loan_id, "loan_status": get_loan(db.session, loan_id).status.value,
                "claim_id": claim.id if claim else None, "outcome": outcome}


# ------------------------------------------------------------------------------------------------ listings on the desk

class ListingIn(Schema):
    asset_id = row_id(required=True)
    kind = fields.String(load_default="auction", validate=validate.OneOf(["auction", "licence"]))
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=500))
    description = fields.String(load_default=None, validate=validate.Length(max=4000))
    valuation = _amount(required=True)
    starting_price = _amount(required=True)
    increment = _amount(required=True)
    deposit_amount = _amount(required=True)
    notice_starts_at = UtcDateTimeIn(required=True)
    bidding_starts_at = UtcDateTimeIn(required=True)
    ends_at = UtcDateTimeIn(required=True)
    licence = fields.Nested(LicenceTerms, load_default=None, metadata={
        "description": "required for a licence lot: exclusive or not, territory, term in months, royalty"})


@blp.route("/disposal/listings")
class DeskListings(MethodView):
    @blp.arguments(DeskListingQuery, location="query")
    @blp.response(200, DeskListingPage)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF)
    def get(self, args, actor):
        """Every listing in any state (staff), newest first; filter by `status` or `loan_id`."""
        query = select(Listing).order_by(Listing.id.desc())
        if args.get("status"):
            query = query.where(Listing.status == ListingStatus(args["status"]))
        if args.get("loan_id") is not None:
            query = query.where(Listing.loan_id == args["loan_id"])
        items = [{**_listing_dict(x, detail=False), "loan_id": x.loan_id, "created_by_id": x.created_by_id}
                 for x in db.session.scalars(query.limit(300))]
        return {"total": len(items), "items": items}

    @blp.arguments(ListingIn)
    @blp.response(201, DeskListingOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.ENTERPRISE, Role.STAFF, scope="write")
    def post(self, data, actor):
        """An owner's voluntary transfer or licence of its own asset (or staff on the owner's behalf), as the web's
        "new listing": created and submitted for staff review at once. The terms must follow the rules (starting
        price ≥ 70 % of the valuation, deposit 5–20 %, notice ≥ 30 days, bidding ≥ 24 h), else 422."""
        def create():
            listing = service.create_listing(
                db.session, actor, source=ListingSource.VOLUNTARY, kind=ListingKind(data.pop("kind")), now=utcnow(),
                **data)  # licence terms in data["licence"]
            service.submit_listing(db.session, actor, listing, utcnow())
            return listing

        return _desk_dict(_act(create), actor)


@blp.route("/disposal/listings/<int:listing_id>")
class DeskListing(MethodView):
    @blp.response(200, DeskListingOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user()
    def get(self, listing_id, actor):
        """One listing as the desk sees it (staff, or its author): checklist, review note, objections, deposits."""
        listing = service.get_listing(db.session, listing_id)
        _staff_or_author(actor, listing)
        return _desk_dict(listing, actor)


@blp.route("/disposal/listings/<int:listing_id>/preemption")
class DeskHolders(MethodView):
    @blp.arguments(HolderIn)
    @blp.response(201, HolderOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, listing_id, actor):
        """Register a known pre-emption holder (co-owner, exclusive licensee) on a lot not yet announced; with
        `user_id` their bidder account wins a tie at equal price."""
        listing = service.get_listing(db.session, listing_id)
        db.session.commit()  # the lot's lock comes first in the registering transaction
        holder = _act(lambda: holders.register_holder(db.session, actor, listing, name=data["name"],
                                                      kind=PreemptionKind(data["kind"]), user_id=data["user_id"],
                                                      now=utcnow()))
        return next(h for h in _holders(listing_id) if h["id"] == holder.id)


@blp.route("/disposal/preemption/<int:holder_id>/notices")
class DeskHolderNotices(MethodView):
    @blp.arguments(HolderNoticeIn)
    @blp.response(201, HolderOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, holder_id, actor):
        """Record that a holder was told of the coming disposal: when (`told_at`, not in the future) and how. The lot
        is announced only when every holder was told at least three days before."""
        notice = _act(lambda: holders.record_notice(db.session, actor, holder_id, told_at=data["told_at"],
                                                    method=NoticeMethod(data["method"]), note=data["note"],
                                                    now=utcnow()))
        return next(h for h in _holders(notice.listing_id) if h["id"] == holder_id)


@blp.route("/disposal/listings/<int:listing_id>/submit")
class DeskSubmit(MethodView):
    @blp.response(200, DeskListingOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(scope="write")
    def post(self, listing_id, actor):
        """Submit a draft (again) for review: its author or staff."""
        listing = service.get_listing(db.session, listing_id)
        _staff_or_author(actor, listing)
        _act(lambda: service.submit_listing(db.session, actor, listing, utcnow()))
        return _desk_dict(listing, actor)


class ReviewIn(Schema):
    checklist = fields.Dict(keys=fields.String(validate=validate.OneOf(service.CHECKLIST)), values=fields.Boolean(),
                            required=True, metadata={"description": "Each item confirmed (true) or not: "
                                                                    + ", ".join(service.CHECKLIST)})
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


@blp.route("/disposal/listings/<int:listing_id>/review")
class DeskReview(MethodView):
    @blp.arguments(ReviewIn)
    @blp.response(200, DeskListingOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, listing_id, actor):
        """Review a lot under review (staff): approving needs every checklist item confirmed and valid terms, and
        announces the lot (parties and pre-emption holders are told); "return" sends it back to its author."""
        listing = service.get_listing(db.session, listing_id)
        approve = data["decision"] == "approve"
        _act(lambda: service.review_listing(db.session, actor, listing, data["checklist"], approve, utcnow(),
                                            data["note"]))
        return _desk_dict(listing, actor)


class NoteIn(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=500))


@blp.route("/disposal/listings/<int:listing_id>/cancel")
class DeskCancel(MethodView):
    @blp.arguments(NoteIn)
    @blp.response(200, DeskListingOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, listing_id, actor):
        """Cancel a lot that is not closed (staff); held deposits are refunded."""
        listing = service.get_listing(db.session, listing_id)
        _act(lambda: service.cancel_listing(db.session, actor, listing, utcnow(), data["note"]))
        return _desk_dict(listing, actor)


class TermsIn(Schema):
    starting_price = _amount(required=True)
    increment = _amount(required=True)
    deposit_amount = _amount(required=True)
    notice_starts_at = UtcDateTimeIn(required=True)
    bidding_starts_at = UtcDateTimeIn(required=True)
    ends_at = UtcDateTimeIn(required=True)


@blp.route("/disposal/listings/<int:listing_id>/reauction")
class DeskReauction(MethodView):
    @blp.arguments(TermsIn)
    @blp.response(201, DeskListingOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, listing_id, actor):
        """Schedule the re-auction of a failed or unpaid first auction (staff): within 30 days of its close, a
        starting price at most 20 % lower, a notice of at least 15 days; the new lot is announced."""
        failed = service.get_listing(db.session, listing_id)
        made = _act(lambda: service.create_reauction(db.session, actor, failed, now=utcnow(), **data))
        return _desk_dict(made, actor)


@blp.route("/disposal/listings/<int:listing_id>/fixed-price")
class DeskFixedPrice(MethodView):
    @blp.response(201, DeskListingOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, listing_id, actor):
        """Offer a failed re-auction's lot at a fixed price for 60 days (staff): the first buyer at the price wins."""
        failed = service.get_listing(db.session, listing_id)
        return _desk_dict(_act(lambda: service.offer_fixed_price(db.session, actor, failed, utcnow())), actor)


class PaymentOut(Schema):
    listing_id = fields.Integer(required=True)
    status = fields.String(required=True)
    sale_price = fields.Decimal(as_string=True, required=True)
    paid_at = UtcDateTime(required=True)
    asset_id = fields.Integer(required=True)
    claim_id = fields.Integer(allow_none=True, required=True,
                              metadata={"description": "The defaulted loan's compensation claim, once assembled"})


@blp.route("/auctions/<int:listing_id>/payment")
class AuctionPayment(MethodView):
    @blp.response(200, PaymentOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(scope="write")
    def post(self, listing_id, actor):
        """Confirm the settlement of a sold lot (the winner, or staff for the winner): the deposit counts towards
        the price, the balance is paid, the right passes to the buyer and, for a defaulted loan, the recovery goes
        to its compensation claim. 409 when the lot is not awaiting payment or the deadline has passed."""
        listing = _public_listing(listing_id)
        transfer = _act(lambda: service.record_payment(db.session, actor, listing, utcnow()))
        claim_id = None
        if listing.loan_id is not None:
            from market.loans.claims import loan_claim

            claim = loan_claim(db.session, listing.loan_id)
            claim_id = claim.id if claim else None
        return {"listing_id": listing.id, "status": listing.status.value, "sale_price": transfer.price,
                "paid_at": transfer.at, "asset_id": transfer.asset_id, "claim_id": claim_id}


# ------------------------------------------------------------------------------------------------ objections

class ObjectionIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=5, max=4000))


@blp.route("/listings/<int:listing_id>/objections")
class ListingObjections(MethodView):
    @blp.arguments(ObjectionIn)
    @blp.response(201, ObjectionOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(scope="write")
    def post(self, data, listing_id, actor):
        """Object to an announced lot before bidding starts (any verified user); staff decide on it, and the lot does
        not open for bidding while an objection is open."""
        listing = _public_listing(listing_id)
        return _objection_dict(_act(lambda: disposal.file_objection(db.session, actor, listing, data["reason"],
                                                                    utcnow())))


class ObjectionQuery(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf([s.value for s in ObjectionStatus] + ["all"]))


@blp.route("/disposal/objections")
class DeskObjections(MethodView):
    @blp.arguments(ObjectionQuery, location="query")
    @blp.response(200, ObjectionList)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF)
    def get(self, args, actor):
        """Objections (staff): the open ones by default, oldest first."""
        query = select(Objection).order_by(Objection.id)
        if args["status"] != "all":
            query = query.where(Objection.status == ObjectionStatus(args["status"]))
        return {"items": [_objection_dict(o) for o in db.session.scalars(query.limit(500))]}


class ResolveIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["uphold", "dismiss"]))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


@blp.route("/disposal/objections/<int:objection_id>/resolve")
class DeskResolve(MethodView):
    @blp.arguments(ResolveIn)
    @blp.response(200, ObjectionOut)
    @blp.doc(security=[{"bearer": []}])
    @api_user(Role.STAFF, scope="write")
    def post(self, data, objection_id, actor):
        """Decide an open objection (staff): upholding it cancels the lot (deposits refunded); dismissing lets the
        lot go on. The objector is told."""
        return _objection_dict(_act(lambda: disposal.resolve_objection(
            db.session, actor, objection_id, data["decision"] == "uphold", data["note"], utcnow())))


# ------------------------------------------------------------------------------------------------ my deposits

class MyDepositOut(Schema):
    listing_id = fields.Integer(required=True)
    title = fields.String(required=True)
    code = fields.String(required=True)
    amount = fields.Decimal(as_string=True, required=True)
    status = fields.String(required=True)
    paid_at = UtcDateTime(required=True)
    settled_at = UtcDateTime(allow_none=True, required=True)


class LedgerEntryOut(Schema):
    listing_id = fields.Integer(required=True)
    entry = fields.String(required=True)
    amount = fields.Decimal(as_string=True, required=True)
    at = UtcDateTime(required=True)
    reference = fields.String(allow_none=True, required=True)


class MyDeposits(Schema):
    deposits = fields.List(fields.Nested(MyDepositOut), required=True)
    ledger = fields.List(fields.Nested(LedgerEntryOut), required=True)


@blp.route("/deposits")
class MyDepositsView(MethodView):
    @blp.response(200, MyDeposits)
    @blp.doc(security=[{"bearer": []}])
    @api_user()
    def get(self, actor):
        """The caller's own deposits over all lots (newest first) and deposit ledger: paid, refunded at the close,
        applied to the price or forfeited."""
        rows = db.session.execute(select(Deposit, Listing.title).join(Listing, Listing.id == Deposit.listing_id)
                                  .where(Deposit.bidder_id == actor.id).order_by(Deposit.id.desc())).all()
        return {"deposits": [{"listing_id": d.listing_id, "title": title, "code": d.code, "amount": d.amount,
                              "status": d.status.value, "paid_at": d.paid_at, "settled_at": d.settled_at}
                             for d, title in rows],
                "ledger": [{"listing_id": e.listing_id, "entry": e.entry, "amount": e.amount, "at": e.at,
                            "reference": e.reference} for e in disposal.ledger_of(db.session, actor)]}
