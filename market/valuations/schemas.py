"""The JSON shapes of valuation reports, the expert pool and consultations: request schemas load the body, response
schemas dump the objects themselves (amounts as decimal strings)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from market.api.fields import UtcDateTime, bounded, row_id
from market.api.pages import items_of
from market.bounded import AMOUNT
from market.db import utcnow
from market.valuations.models import ConsultationStatus, ValuationMethod, ValuationStatus, ValueType


class Itself(fields.Nested):
    """A nested object made of the dumped object's own attributes (e.g. a report's signer)."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return obj


# --- valuation reports -------------------------------------------------------------------------------------------


class ValuationRequest(Schema):
    asset_id = row_id(required=True)
    value_type = fields.String(required=True, validate=validate.OneOf([v.value for v in ValueType]))
    amount = bounded(AMOUNT, required=True)
    valuation_date = fields.Date(required=True)
    valid_until = fields.Date(load_default=None)
    method = fields.String(required=True, validate=validate.OneOf([m.value for m in ValuationMethod]))
    signer_name = fields.String(required=True, validate=validate.Length(1, 60))
    signer_qualification = fields.String(required=True, validate=validate.Length(1, 40))
    basis = fields.String(load_default=None, validate=validate.Length(max=4000))
    issue = fields.Boolean(load_default=True)


class WithdrawRequest(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class SignerOut(Schema):
    name = fields.String(attribute="signer_name")
    qualification = fields.String(attribute="signer_qualification")


class ValuationOut(Schema):
    id = fields.Integer()
    asset_id = fields.Integer()
    status = fields.String(validate=validate.OneOf([s.value for s in ValuationStatus]))
    value_type = fields.String(validate=validate.OneOf([v.value for v in ValueType]))
    amount = fields.Decimal(as_string=True)
    valuation_date = fields.Date()
    valid_until = fields.Date()
    in_force = fields.Function(lambda v: v.in_force(utcnow().date()), dump_only=True,
                               metadata={"type": "boolean"})
    method = fields.String(validate=validate.OneOf([m.value for m in ValuationMethod]))
    agency_org_id = fields.Integer()
    agency = fields.String(attribute="agency.name")
    valuer_id = fields.Integer()
    signer = Itself(SignerOut)
    basis = fields.String(allow_none=True)
    has_file = fields.Boolean()
    issued_at = UtcDateTime(allow_none=True)
    withdrawn_at = UtcDateTime(allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)
    superseded_by_id = fields.Integer(allow_none=True)


class AssetValuationList(Schema):
    asset_id = fields.Integer()
    items = fields.List(fields.Nested(ValuationOut))


class AssetValuationOut(Schema):
    """A report as the patent detail (`GET /patents/{id}`) lists it."""

    id = fields.Integer()
    status = fields.String()
    value_type = fields.String()
    amount = fields.Decimal(as_string=True)
    valuation_date = fields.Date()
    valid_until = fields.Date()
    agency = fields.String(attribute="agency.name")


class AccuracyOut(Schema):
    agency_org_id = fields.Integer(attribute="agency_id")
    agency = fields.String()
    valuer_id = fields.Integer()
    valuer = fields.String()
    sold_lots = fields.Integer(attribute="n")
    mean_abs_error = fields.Decimal(as_string=True, metadata={
        "description": "mean of |valuation - sale price| / sale price, a fraction (0.2500 is 25 %)"})


AccuracyList = items_of(AccuracyOut, "AccuracyList")


# --- the expert pool and consultations ---------------------------------------------------------------------------


class ExpertOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String(attribute="user.name")
    agency = fields.String(attribute="user.organisation.name")
    agency_org_id = fields.Integer(attribute="user.organisation_id")
    title = fields.String(allow_none=True)
    bio = fields.String()
    specialities = fields.List(fields.String(), attribute="symbols", metadata={"description": "IPC symbols"})


ExpertList = items_of(ExpertOut, "ExpertList")


class ConsultationRequest(Schema):
    question = fields.String(required=True, validate=validate.Length(1, 4000))
    need_id = row_id(load_default=None, allow_none=True)
    asset_id = row_id(load_default=None, allow_none=True)
    expert_id = row_id(load_default=None, allow_none=True, metadata={
        "description": "an expert of the pool (GET /experts); leave it out to be matched with the best free one"})


class ConsultationAnswer(Schema):
    answer = fields.String(required=True, validate=validate.Length(1, 8000))
    suggested_amount = bounded(AMOUNT, load_default=None, allow_none=True)
    suggested_term_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 360))
    suggested_value_type = fields.String(load_default=None, allow_none=True,
                                         validate=validate.OneOf([v.value for v in ValueType]))


class ConsultationOut(Schema):
    id = fields.Integer()
    status = fields.String(validate=validate.OneOf([s.value for s in ConsultationStatus]))
    org_id = fields.Integer()
    organisation = fields.String(attribute="org.name")
    need_id = fields.Integer(allow_none=True)
    asset_id = fields.Integer(allow_none=True)
    expert = fields.Nested(ExpertOut)
    matched = fields.Boolean(metadata={"description": "the platform chose the expert"})
    question = fields.String()
    answer = fields.String(allow_none=True)
    suggested_amount = fields.Decimal(as_string=True, allow_none=True)
    suggested_term_months = fields.Integer(allow_none=True)
    suggested_value_type = fields.String(allow_none=True)
    created_at = UtcDateTime()
    answered_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)


ConsultationList = items_of(ConsultationOut, "ConsultationList")
