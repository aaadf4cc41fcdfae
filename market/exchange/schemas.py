"""The exchange API's bodies, public side (the disposal desk's are `desk_schemas`). What comes in is validated here
(money through `market.api.fields.bounded`); what goes out is dumped from the objects themselves (listings, bids,
deposits, objections, transfers, ledger entries): money as decimal strings (`money`), times in UTC with their offset.
A value that is not an attribute of the object is a `derived` field, documented as the field it derives from."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, missing, validate
from sqlalchemy.orm import object_session

from market.api.fields import UtcDateTime, bounded, row_id
from market.bounded import SHARE
from market.exchange import preemption
from market.exchange.models import Listing, ListingKind, ListingStatus
from market.exchange.terms import terms_version as lot_terms_version
from market.exchange.views_state import PHASES, PUBLIC, licence_terms
from market.loans.claims import loan_claim


def money(**kw) -> fields.Decimal:
    """An amount on the way out: a decimal string, never a float."""
    return fields.Decimal(as_string=True, **kw)


class _Derived:
    """A field whose value is `getter(obj)` rather than an attribute; OpenAPI documents it as its base field."""

    def __init__(self, getter, *args, **kw):
        self.getter = getter
        super().__init__(*args, **kw)

    def get_value(self, obj, attr, accessor=None, default=missing):
        return self.getter(obj)


def derived(base: type[fields.Field], getter, *args, **kw) -> fields.Field:
    return type(f"Derived{base.__name__}", (_Derived, base), {})(getter, *args, **kw)


def listing_of(row) -> Listing:
    return object_session(row).get(Listing, row.listing_id)


def _claim_id(transfer) -> int | None:
    listing = listing_of(transfer)
    claim = loan_claim(object_session(transfer), listing.loan_id) if listing.loan_id is not None else None
    return claim.id if claim is not None else None


SALE_SHOWN = (ListingStatus.SOLD, ListingStatus.SETTLED)


class BidOut(Schema):
    id = fields.Integer()
    code = fields.String()
    amount = money()
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
    starting_price = money()
    increment = money()
    deposit_amount = money()
    valuation = money()
    current_price = money(allow_none=True)
    next_min_bid = money(allow_none=True)
    bidding_starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    server_time = UtcDateTime()
    bid_count = fields.Integer(metadata={"description": "accepted bids in all; `bids` holds the latest ones"})
    extension_count = fields.Integer(metadata={"description": "late bids that moved the end"})
    registered_bidders = fields.Integer(metadata={"description": "bidders who paid the deposit"})
    leader_code = fields.String(allow_none=True)
    leader_preemption = fields.Boolean(metadata={"description": "the leader holds a pre-emption right"})
    winner_code = fields.String(allow_none=True)
    sale_price = money(allow_none=True)
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
    valuation = money()
    starting_price = money()
    current_price = money(allow_none=True)
    sale_price = derived(fields.Decimal, lambda x: x.sale_price if x.status in SALE_SHOWN else None, as_string=True,
                         allow_none=True)
    notice_starts_at = UtcDateTime()
    bidding_starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    url = derived(fields.String, lambda x: url_for("exchange.auction", listing_id=x.id))
    ipc = derived(fields.List, lambda x: list(x.asset.ipc_codes or []), fields.String())
    licence = derived(fields.Nested, licence_terms, LicenceTerms, allow_none=True,
                      metadata={"description": "licence lots only"})


class ListingDetailOut(ListingOut):
    increment = money()
    deposit_amount = money()
    due_diligence = fields.Dict()
    rules_version = fields.String()
    description = fields.String(allow_none=True)
    terms_version = derived(fields.String, lot_terms_version,
                            metadata={"description": "the announcement and bidder terms a deposit accepts"})
    preemption = derived(fields.List, lambda x: preemption.public_summary(object_session(x), x.id),
                         fields.Nested(HolderSummary), metadata={
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
    amount = bounded(required=True)


class BidResult(Schema):
    id = fields.Integer()
    code = fields.String()
    amount = money()
    placed_at = UtcDateTime()
    ends_at = UtcDateTime(attribute="ends_at_after")
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
    amount = money()
    status = fields.String()
    paid_at = UtcDateTime()


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


class PaymentOut(Schema):
    listing_id = fields.Integer(required=True)
    status = derived(fields.String, lambda t: listing_of(t).status, required=True)
    sale_price = money(attribute="price", required=True)
    paid_at = UtcDateTime(attribute="at", required=True)
    asset_id = fields.Integer(required=True)
    claim_id = derived(fields.Integer, _claim_id, allow_none=True, required=True,
                       metadata={"description": "The defaulted loan's compensation claim, once assembled"})


class ObjectionIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=5, max=4000))


class MyDepositOut(Schema):
    listing_id = fields.Integer(required=True)
    title = derived(fields.String, lambda d: listing_of(d).title, required=True)
    code = fields.String(required=True)
    amount = money(required=True)
    status = fields.String(required=True)
    paid_at = UtcDateTime(required=True)
    settled_at = UtcDateTime(allow_none=True, required=True)


class LedgerEntryOut(Schema):
    listing_id = fields.Integer(required=True)
    entry = fields.String(required=True)
    amount = money(required=True)
    at = UtcDateTime(required=True)
    reference = fields.String(allow_none=True, required=True)


class MyDeposits(Schema):
    deposits = fields.List(fields.Nested(MyDepositOut), required=True)
    ledger = fields.List(fields.Nested(LedgerEntryOut), required=True)
