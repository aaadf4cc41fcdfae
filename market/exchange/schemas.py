"""The exchange API's bodies: what comes in (validated, money through `market.api.fields.bounded`) and what goes out
(money as decimal strings, times in UTC with their offset)."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from market.api.fields import UtcDateTime, bounded, row_id
from market.bounded import SHARE
from market.exchange.listings import CHECKLIST
from market.exchange.models import ListingKind, ListingStatus, NoticeMethod, ObjectionStatus, PreemptionKind
from market.exchange.views_state import PHASES, PUBLIC


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
    amount = bounded(required=True)


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
    amount = bounded(required=True)


class ListLoanIn(Schema):
    valuations = fields.List(fields.Nested(AssetValuationIn), load_default=list, validate=validate.Length(max=50),
                             metadata={"description": "Valuations of assets without a valuation report in force"})

    @validates_schema
    def _distinct(self, data, **kwargs):
        ids = [v["asset_id"] for v in data.get("valuations", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("An asset is valued twice.", "valuations")


class EndOut(Schema):
    loan_id = fields.Integer(required=True)
    loan_status = fields.String(required=True)
    claim_id = fields.Integer(allow_none=True, required=True)
    outcome = fields.String(required=True)


class ListingIn(Schema):
    asset_id = row_id(required=True)
    kind = fields.String(load_default="auction", validate=validate.OneOf(["auction", "licence"]))
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=500))
    description = fields.String(load_default=None, validate=validate.Length(max=4000))
    valuation = bounded(required=True)
    starting_price = bounded(required=True)
    increment = bounded(required=True)
    deposit_amount = bounded(required=True)
    notice_starts_at = UtcDateTimeIn(required=True)
    bidding_starts_at = UtcDateTimeIn(required=True)
    ends_at = UtcDateTimeIn(required=True)
    licence = fields.Nested(LicenceTerms, load_default=None, metadata={
        "description": "required for a licence lot: exclusive or not, territory, term in months, royalty"})


class ReviewIn(Schema):
    checklist = fields.Dict(keys=fields.String(validate=validate.OneOf(CHECKLIST)), values=fields.Boolean(),
                            required=True, metadata={"description": "Each item confirmed (true) or not: "
                                                                    + ", ".join(CHECKLIST)})
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class NoteIn(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class TermsIn(Schema):
    starting_price = bounded(required=True)
    increment = bounded(required=True)
    deposit_amount = bounded(required=True)
    notice_starts_at = UtcDateTimeIn(required=True)
    bidding_starts_at = UtcDateTimeIn(required=True)
    ends_at = UtcDateTimeIn(required=True)


class PaymentOut(Schema):
    listing_id = fields.Integer(required=True)
    status = fields.String(required=True)
    sale_price = fields.Decimal(as_string=True, required=True)
    paid_at = UtcDateTime(required=True)
    asset_id = fields.Integer(required=True)
    claim_id = fields.Integer(allow_none=True, required=True,
                              metadata={"description": "The defaulted loan's compensation claim, once assembled"})


class ObjectionIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=5, max=4000))


class ObjectionQuery(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf([s.value for s in ObjectionStatus] + ["all"]))


class ResolveIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["uphold", "dismiss"]))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


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
