"""API bodies of a loan's regional model (`market.policy.regional`): what a bank gives when it records a loan, and what
the loan's JSON shows (mixed into `market.loans.schemas` LoanCreate / OfferLoanCreate and LoanOut)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from market.api.fields import bounded, row_id
from market.bounded import AMOUNT, SHARE
from market.policy.regional import MAX_COLLATERAL_ITEMS, CollateralKind, LoanModel

REQ = {"required": True}
MODELS = [m.value for m in LoanModel]


class CollateralIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in CollateralKind]))
    description = fields.String(required=True, validate=validate.Length(min=1, max=300))
    valuation = bounded(AMOUNT, required=True, metadata={"description": "In yuan"})


class CollateralOut(Schema):
    kind = fields.String(**REQ)
    description = fields.String(**REQ)
    valuation = fields.Decimal(as_string=True, **REQ)


def model_choice() -> fields.String:
    """The loan model on the way in (a loan's, or a plan's)."""
    return fields.String(load_default="chongqing", validate=validate.OneOf(MODELS), metadata={
        "description": "`chongqing` (multi-party pledge, default), `shanghai` (guarantee with counter-guarantee: "
                       "needs a guarantee), `jiangsu` (relationship lending: government recommendation, no "
                       "guarantee), `tianjin` (combined pledge: IP with tangible assets)"})


class ModelIn(Schema):
    """The loan's model and its terms; each model takes only its own (others are refused with 422)."""

    loan_model = model_choice()
    counter_guarantor_org_id = row_id(load_default=None, metadata={
        "description": "Shanghai: the organisation that counter-guarantees (the enterprise itself or another)"})
    counter_guarantee_security = fields.String(load_default=None, validate=validate.Length(max=300), metadata={
        "description": "Shanghai: what the counter-guarantee is secured with"})
    counter_guarantee_share = bounded(SHARE, load_default=0, metadata={
        "description": "Shanghai: the share of the guarantor's payment the counter-guarantor repays, a fraction "
                       "(0.6 = 60 %), more than 0 and at most 1"})
    recommended_by = fields.String(load_default=None, validate=validate.Length(max=200), metadata={
        "description": "Jiangsu: the government body that recommended the enterprise"})
    recommended_on = fields.Date(load_default=None, metadata={"description": "Jiangsu: the day it did"})
    collateral = fields.List(fields.Nested(CollateralIn), load_default=list,
                             validate=validate.Length(max=MAX_COLLATERAL_ITEMS),
                             metadata={"description": "Tianjin: the tangible assets bundled with the IP"})


class ModelOut(Schema):
    loan_model = fields.String(**REQ)
    counter_guarantor_org_id = fields.Integer(allow_none=True, **REQ)
    counter_guarantee_security = fields.String(allow_none=True, **REQ)
    counter_guarantee_share = fields.Decimal(as_string=True, **REQ)
    recommended_by = fields.String(allow_none=True, **REQ)
    recommended_on = fields.Date(allow_none=True, **REQ)
    collateral = fields.List(fields.Nested(CollateralOut), **REQ)
