"""JSON API of valuations and the expert pool. Amounts travel as decimal strings."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from market.accounts.models import Role
from market.api.auth import api_user
from market.db import db, utcnow
from market.errors import NotFound
from market.ip.models import IpAsset
from market.valuations import experts, service
from market.valuations.models import Valuation, ValuationMethod, ValueType

blp = Blueprint("valuations_api", __name__, url_prefix="/api/v1", description="Valuation reports and the expert pool")
BEARER = [{"bearer": []}]


class Dec(fields.Decimal):
    """A decimal that never goes through binary floating point (JSON numbers arrive as floats)."""

    def _format_num(self, value):
        if isinstance(value, float):
            value = str(value)
        return super()._format_num(value)


class ValuationRequest(Schema):
    asset_id = fields.Integer(required=True, strict=True)
    value_type = fields.String(required=True, validate=validate.OneOf([v.value for v in ValueType]))
    amount = Dec(required=True, as_string=True, allow_nan=False)
    valuation_date = fields.Date(required=True)
    valid_until = fields.Date(load_default=None)
    method = fields.String(required=True, validate=validate.OneOf([m.value for m in ValuationMethod]))
    signer_name = fields.String(required=True, validate=validate.Length(1, 60))
    signer_qualification = fields.String(required=True, validate=validate.Length(1, 40))
    basis = fields.String(load_default=None, validate=validate.Length(max=4000))
    issue = fields.Boolean(load_default=True)


def valuation_json(v: Valuation) -> dict:
    return {
        "id": v.id, "asset_id": v.asset_id, "status": v.status.value, "value_type": v.value_type.value,
        "amount": str(v.amount), "valuation_date": v.valuation_date.isoformat(),
        "valid_until": v.valid_until.isoformat(), "in_force": v.in_force(utcnow().date()),
        "method": v.method.value, "agency_org_id": v.agency_org_id, "agency": v.agency.name,
        "valuer_id": v.valuer_id, "signer": {"name": v.signer_name, "qualification": v.signer_qualification},
        "basis": v.basis, "has_file": v.file_key is not None,
        "issued_at": v.issued_at.isoformat() if v.issued_at else None,
        "withdrawn_at": v.withdrawn_at.isoformat() if v.withdrawn_at else None,
        "superseded_by_id": v.superseded_by_id,
    }


def expert_json(e) -> dict:
    return {"id": e.id, "user_id": e.user_id, "name": e.user.name, "agency": e.user.organisation.name,
            "agency_org_id": e.user.organisation_id, "title": e.title, "bio": e.bio, "specialities": e.symbols}


@blp.route("/assets/<int:asset_id>/valuations")
@blp.doc(security=BEARER)
@api_user()
def asset_valuations(asset_id, actor):
    """Issued and withdrawn valuation reports of an asset that the actor may read, newest first."""
    if db.session.get(IpAsset, asset_id) is None:
        raise NotFound("This asset does not exist.")
    items = service.visible_valuations(db.session, actor, asset_id)
    return {"asset_id": asset_id, "items": [valuation_json(v) for v in items]}


@blp.route("/valuations", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ValuationRequest)
@api_user(Role.VALUER, scope="write")
def create(data, actor):
    """A valuer issues a report (or saves a draft with `"issue": false`); conflicts of interest are refused (409)."""
    issue = data.pop("issue")
    data["value_type"] = ValueType(data["value_type"])
    data["method"] = ValuationMethod(data["method"])
    valuation = service.create_valuation(db.session, actor, service.ValuationInput(**data), utcnow(), issue=issue)
    db.session.commit()
    return valuation_json(valuation), 201


@blp.route("/valuations/<int:valuation_id>")
@blp.doc(security=BEARER)
@api_user()
def one(valuation_id, actor):
    return valuation_json(service.valuation_for(db.session, actor, valuation_id))


@blp.route("/experts")
@blp.doc(security=BEARER)
@api_user()
def expert_list(actor):
    """The expert pool: experts with their IPC specialities."""
    return {"items": [expert_json(e) for e in experts.list_experts(db.session)]}
