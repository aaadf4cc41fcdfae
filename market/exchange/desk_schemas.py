"""The disposal desk's API bodies (staff, and a listing's author): listings with their checklist, objections,
deposits and pre-emption holders; defaulted loans waiting to be listed; the desk's decisions on the way in.

What the desk shows of bidders depends on who asks (`parties.bidder_identities_visible`): the caller is the API
token's user."""

from __future__ import annotations

from datetime import UTC

from flask import g
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy.orm import object_session

from market.api.fields import UtcDateTime, bounded, row_id
from market.api.pages import items_of
from market.db import utcnow
from market.exchange import preemption
from market.exchange.deposits import deposits_of
from market.exchange.disposal import objections_of, unlisted_assets
from market.exchange.listings import CHECKLIST
from market.exchange.models import Listing, ListingStatus, NoticeMethod, ObjectionStatus, PreemptionKind
from market.exchange.parties import bidder_identities_visible
from market.exchange.schemas import (
    LicenceTerms,
    ListingDetailOut,
    ListingOut,
    ObjectionOut,
    derived,
    listing_of,
    money,
)
from market.loans.schedule import outstanding_principal as loan_outstanding
from market.valuations.service import latest_valuation


def _identities_shown(listing: Listing) -> bool:
    return bidder_identities_visible(g.api_token.user, listing)


def _winner_code(listing: Listing) -> str | None:
    if listing.winner_id is None:
        return None
    return next((d.code for d in deposits_of(object_session(listing), listing.id) if d.bidder_id == listing.winner_id),
                None)


def _valuation_in_force(asset):
    return latest_valuation(object_session(asset), asset.id, utcnow().date())


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


ObjectionList = items_of(ObjectionOut, "ObjectionList", required=True)


class DeskDepositOut(Schema):
    code = fields.String(required=True)
    bidder_id = derived(fields.Integer, lambda d: d.bidder_id if _identities_shown(listing_of(d)) else None,
                        allow_none=True, required=True,
                        metadata={"description": "The bidder's user id: staff only, others once the lot closed "
                                                 "(null otherwise: bidders appear under codes)"})
    amount = money(required=True)
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
    winner_code = derived(fields.String, _winner_code, allow_none=True, required=True)
    closed_at = UtcDateTime(allow_none=True, required=True)
    payment_due_at = UtcDateTime(allow_none=True, required=True)
    paid_at = UtcDateTime(allow_none=True, required=True)
    checklist = derived(fields.Dict, lambda x: dict(x.checklist or {}), keys=fields.String(), values=fields.Boolean(),
                        required=True)
    checklist_items = derived(fields.List, lambda x: list(CHECKLIST), fields.String(), required=True)
    review_note = fields.String(allow_none=True, required=True)
    objections = derived(fields.List, lambda x: objections_of(object_session(x), x.id), fields.Nested(ObjectionOut),
                         required=True)
    deposits = derived(fields.List, lambda x: deposits_of(object_session(x), x.id), fields.Nested(DeskDepositOut),
                       required=True)
    holders = derived(fields.List, lambda x: preemption.holders_of(object_session(x), x.id),
                      fields.Nested(lambda: HolderOut()), required=True)


DeskListingList = items_of(DeskListingOut, "DeskListingList", required=True)


class DeskListingRow(ListingOut):
    loan_id = fields.Integer(allow_none=True, required=True)
    created_by_id = fields.Integer(allow_none=True, required=True)


class DeskListingPage(Schema):
    total = fields.Integer(required=True)
    items = fields.List(fields.Nested(DeskListingRow), required=True)


class DeskListingQuery(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in ListingStatus]))
    loan_id = row_id(strict=False)  # a query string is text


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
    user_id = derived(fields.Integer, lambda h: h.user_id if _identities_shown(listing_of(h)) else None,
                      allow_none=True, required=True)
    notified_at = UtcDateTime(allow_none=True, required=True)
    registered_at = UtcDateTime(allow_none=True, required=True)
    notices = derived(fields.List, lambda h: preemption.notices_of(object_session(h), h.listing_id).get(h.id, []),
                      fields.Nested(HolderNoticeOut), required=True)


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
    valuation = derived(fields.Decimal, lambda a: getattr(_valuation_in_force(a), "amount", None), as_string=True,
                        allow_none=True, required=True,
                        metadata={"description": "The valuation report in force, if any (else one must be "
                                                 "given when listing)"})
    valuation_source = derived(fields.String, lambda a: "valuations" if _valuation_in_force(a) else None,
                               allow_none=True, required=True)


class WaitingLoanOut(Schema):
    loan_id = fields.Integer(attribute="id", required=True)
    status = fields.String(required=True)
    bank_org_id = fields.Integer(required=True)
    enterprise_org_id = fields.Integer(required=True)
    defaulted_on = fields.Date(allow_none=True, required=True)
    outstanding_principal = derived(fields.Decimal, loan_outstanding, as_string=True, required=True)
    assets = derived(fields.List, lambda loan: unlisted_assets(object_session(loan), loan),
                     fields.Nested(WaitingAssetOut), required=True)


WaitingLoanList = items_of(WaitingLoanOut, "WaitingLoanList", required=True)


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


# New terms of a returned draft: the prices and times of a new listing (ListingIn's own fields).
TermsIn = Schema.from_dict({name: ListingIn._declared_fields[name] for name in (
    "starting_price", "increment", "deposit_amount", "notice_starts_at", "bidding_starts_at", "ends_at")},
    name="TermsIn")


class ObjectionQuery(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf([s.value for s in ObjectionStatus] + ["all"]))


class ResolveIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["uphold", "dismiss"]))
    note = fields.String(load_default=None, validate=validate.Length(max=500))
