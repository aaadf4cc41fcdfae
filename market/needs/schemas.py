"""The bodies of the financing-needs API: what it takes in (requests and queries) and what it answers, each
response schema dumping the model objects (a need, a claim, an offer, a product, a bulletin, a match) directly.
Rates are fractions (0.052), amounts decimal strings, times RFC 3339 date-times in UTC."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from market.api.fields import UtcDateTime, bounded, row_id
from market.api.pages import FacetBucket, Paged, facets_of, items_of
from market.bounded import AMOUNT, AMOUNT_OR_ZERO, ANNUAL_RATE, LOAN_TO_VALUE
from market.db import db
from market.needs.docking import loan_ids_of_offers
from market.needs.labels import reason_text
from market.needs.models import ClaimStatus, NeedStatus, OfferStatus


def money(**kw):
    return fields.Decimal(as_string=True, **kw)


def computed(field: fields.Field, fn) -> fields.Field:
    """`field` (its type is what the API document shows) holding fn(obj) instead of an attribute of obj."""
    field.get_value = lambda obj, attr, accessor=None, default=None: fn(obj)
    return field


class Body:
    """What a response schema dumps: the attributes of `obj` plus the `extra` ones (the values other areas
    contribute to a body, see market.areas)."""

    def __init__(self, obj, **extra):
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name):
        return getattr(self._obj, name)


def _split(text: str | None) -> list[str]:
    return [x for x in (text or "").split(",") if x]


class NeedRequest(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 120))
    amount = bounded(AMOUNT, required=True)
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 600))
    purpose = fields.String(required=True, validate=validate.Length(1, 2000))
    max_rate = bounded(ANNUAL_RATE, required=True)
    asset_ids = fields.List(row_id(), required=True, validate=validate.Length(max=50))
    tangible_collateral = fields.String(load_default=None, validate=validate.Length(max=500))
    tangible_value = bounded(AMOUNT_OR_ZERO, load_default=None, allow_none=True)
    preferred_bank_ids = fields.List(row_id(), load_default=list)
    submit = fields.Boolean(load_default=False)


class NeedQuery(Schema):
    q = fields.String(load_default="")
    industry = fields.String(load_default="")
    group = fields.String(load_default="")
    amount_band = fields.String(load_default="")
    ip_kind = fields.String(load_default="")
    district = fields.String(load_default="")
    ipc_section = fields.String(load_default="")
    ipc_class = fields.String(load_default="")
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, 100))

    @validates_schema
    def _within_window(self, data, **kwargs):
        if data.get("page", 1) * data.get("per_page", 20) > 10_000:
            raise ValidationError("page × per_page may not exceed 10,000 results.", "page")


class ReviewRequest(Schema):
    approve = fields.Boolean(required=True)
    checklist = fields.Dict(keys=fields.String(), values=fields.Boolean(), load_default=dict)
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class ProductRequest(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    description = fields.String(load_default=None)
    min_amount = bounded(AMOUNT, required=True)
    max_amount = bounded(AMOUNT, required=True)
    min_term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 600))
    max_term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 600))
    min_rate = bounded(ANNUAL_RATE, required=True)
    max_rate = bounded(ANNUAL_RATE, required=True)
    accepted_kinds = fields.List(fields.String(), required=True)
    target_industries = fields.List(fields.String(), load_default=list)
    target_groups = fields.List(fields.String(), load_default=list)
    requires_guarantee = fields.Boolean(load_default=False)
    requires_insurance = fields.Boolean(load_default=False)
    max_ltv = fields.Dict(keys=fields.String(), values=bounded(LOAN_TO_VALUE), load_default=dict)


class ClaimRequest(Schema):
    product_id = row_id(load_default=None)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class OfferRequest(Schema):
    amount = bounded(AMOUNT, required=True)
    annual_rate = bounded(ANNUAL_RATE, required=True)
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 600))
    product_id = row_id(load_default=None)
    conditions = fields.String(load_default=None, validate=validate.Length(max=2000))


class MeetingRequest(Schema):
    meeting_at = fields.DateTime(required=True, metadata={
        "description": "RFC 3339 date-time; without an offset it is taken as UTC. Must be in the future."})


class LoanProductQuery(Schema):
    mine = fields.Boolean(load_default=False, metadata={
        "description": "A bank's own products, inactive ones included (instead of every bank's active products)"})


class DockingQuery(Schema):
    need_id = row_id(strict=False, load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class DockingClaimQuery(DockingQuery):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in ClaimStatus]))


class DockingOfferQuery(DockingQuery):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in OfferStatus]))


# --- responses -------------------------------------------------------------------------------------------------


class NeedOut(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in NeedStatus]))
    title = fields.String(required=True)
    org_id = fields.Integer(required=True)
    org_name = fields.String(required=True, attribute="org.name")
    amount = money(required=True)
    term_months = fields.Integer(required=True)
    max_rate = money(required=True, metadata={"description": "highest annual rate accepted, a fraction"})
    industry_code = fields.String(allow_none=True)
    groups = fields.List(fields.String(), attribute="group_codes")
    district_code = fields.String(allow_none=True)
    ip_kinds = fields.List(fields.String())
    ipc_sections = fields.List(fields.String())
    ipc_classes = fields.List(fields.String())
    amount_band = fields.String(allow_none=True)
    asset_ids = fields.List(fields.Integer())
    published_at = UtcDateTime(allow_none=True)


class NeedDetailOut(NeedOut):
    purpose = fields.String()
    tangible_collateral = fields.String(allow_none=True)
    tangible_value = money(allow_none=True)
    preferred_bank_ids = fields.List(fields.Integer())
    rejection_reason = fields.String(allow_none=True)
    review_checklist = fields.Dict(keys=fields.String(), values=fields.Boolean())
    accepted_offer_id = computed(fields.Integer(allow_none=True),
                                 lambda n: n.accepted_offer.id if n.accepted_offer else None)
    escalated_at = UtcDateTime(allow_none=True)


NeedDetailList = items_of(NeedDetailOut, "NeedDetailList")


class ReviewQueueOut(Schema):
    submitted = fields.List(fields.Nested(NeedDetailOut), metadata={"description": "waiting for review, oldest first"})
    escalated = fields.List(fields.Nested(NeedDetailOut), metadata={
        "description": "published needs no bank answered in time, escalated to staff"})


class NeedFacetBucketOut(FacetBucket):
    pass


class NeedPage(Paged):
    engine = fields.String()
    items = fields.List(fields.Nested(NeedOut))
    facets = computed(facets_of(NeedFacetBucketOut),
                      lambda r: {k: [{"value": v, "count": c} for v, c in values] for k, values in r.facets.items()})


class MatchReasonOut(Schema):
    criterion = fields.String()
    fits = fields.Boolean()
    points = fields.Integer()
    message = computed(fields.String(), reason_text)


class MatchOut(Schema):
    need_id = fields.Integer()
    product_id = fields.Integer()
    bank_org_id = fields.Integer()
    score = fields.Integer()
    reasons = fields.List(fields.Nested(MatchReasonOut))


class NeedMatches(Schema):
    need_id = fields.Integer()
    items = fields.List(fields.Nested(MatchOut))


MatchList = items_of(MatchOut, "MatchList")


class LoanProductOut(Schema):
    id = fields.Integer()
    bank_org_id = fields.Integer()
    bank_name = fields.String(attribute="bank.name")
    name = fields.String()
    description = fields.String(allow_none=True)
    min_amount = money()
    max_amount = money()
    min_term_months = fields.Integer()
    max_term_months = fields.Integer()
    min_rate = money()
    max_rate = money()
    accepted_kinds = fields.List(fields.String())
    target_industries = fields.List(fields.String())
    target_groups = fields.List(fields.String())
    requires_guarantee = fields.Boolean()
    requires_insurance = fields.Boolean()
    max_ltv = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "highest loan-to-value per IP kind, fractions as decimal strings"})
    active = fields.Boolean()
    updated_at = UtcDateTime()


LoanProductList = items_of(LoanProductOut, "LoanProductList")


class DockingClaimOut(Schema):
    id = fields.Integer()
    need_id = fields.Integer()
    need_title = fields.String(attribute="need.title")
    need_status = fields.String(attribute="need.status")
    bank_org_id = fields.Integer()
    bank_name = fields.String(attribute="bank.name")
    product_id = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf([s.value for s in ClaimStatus]))
    note = fields.String(allow_none=True)
    meeting_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class DockingOfferOut(Schema):
    id = fields.Integer()
    need_id = fields.Integer()
    need_title = fields.String(attribute="need.title")
    need_status = fields.String(attribute="need.status")
    claim_id = fields.Integer(allow_none=True)
    bank_org_id = fields.Integer()
    bank_name = fields.String(attribute="bank.name")
    product_id = fields.Integer(allow_none=True)
    amount = money()
    annual_rate = money()
    term_months = fields.Integer()
    conditions = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf([s.value for s in OfferStatus]))
    created_at = UtcDateTime()
    decided_at = UtcDateTime(allow_none=True)
    loan_id = computed(fields.Integer(allow_none=True, metadata={
        "description": "the loan signed from this offer once accepted (POST /offers/{id}/loan signs it)"}),
        lambda o: loan_ids_of_offers(db.session, [o]).get(o.id))


DockingClaimList = items_of(DockingClaimOut, "DockingClaimList")


DockingOfferList = items_of(DockingOfferOut, "DockingOfferList")


class DockingClaimPage(Paged, DockingClaimList):
    pass


class DockingOfferPage(Paged, DockingOfferList):
    pass


class BulletinOut(Schema):
    number = fields.Integer()
    period_start = fields.Date(metadata={"description": "first day covered"})
    period_end = fields.Date(metadata={"description": "the day after the last day covered"})
    need_count = computed(fields.Integer(), lambda b: len(b.need_ids or []))
    published_at = UtcDateTime()
    url = computed(fields.String(), lambda b: url_for("bulletins.bulletin_page", number=b.number))
    csv_url = computed(fields.String(), lambda b: url_for("bulletins.bulletin_csv", number=b.number))
    atom_url = computed(fields.String(), lambda b: url_for("bulletins.bulletin_atom", number=b.number))


class BulletinEntryOut(Schema):
    """Dumps one entry of a bulletin as it was published (a dict, kinds and classes as comma-separated text)."""
    need_id = fields.Integer()
    title = fields.String()
    enterprise = fields.String()
    amount = money()
    term_months = fields.Integer()
    max_rate = money()
    industry_code = fields.String(allow_none=True)
    district_code = fields.String(allow_none=True)
    ip_kinds = computed(fields.List(fields.String()), lambda e: _split(e.get("ip_kinds")))
    ipc_classes = computed(fields.List(fields.String()), lambda e: _split(e.get("ipc_classes")))
    purpose = fields.String()
    published_at = computed(UtcDateTime(), lambda e: datetime.fromisoformat(e["published_at"]))


class BulletinDetailOut(BulletinOut):
    entries = fields.List(fields.Nested(BulletinEntryOut))


BulletinList = items_of(BulletinOut, "BulletinList")
