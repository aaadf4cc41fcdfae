"""JSON API of valuations and the expert pool. Amounts travel as decimal strings."""

from __future__ import annotations

from flask import current_app, send_file
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from market.accounts.models import Role
from market.api.auth import api_user
from market.api.fields import UtcDateTime, bounded, row_id
from market.bounded import AMOUNT
from market.db import db, utcnow
from market.errors import NotFound
from market.ip.models import IpAsset
from market.valuations import experts, files, service
from market.valuations.models import Valuation, ValuationMethod, ValuationStatus, ValueType

blp = Blueprint("valuations_api", __name__, url_prefix="/api/v1", description="Valuation reports and the expert pool")
BEARER = [{"bearer": []}]


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


class SignerOut(Schema):
    name = fields.String()
    qualification = fields.String()


class ValuationOut(Schema):
    id = fields.Integer()
    asset_id = fields.Integer()
    status = fields.String(validate=validate.OneOf([s.value for s in ValuationStatus]))
    value_type = fields.String(validate=validate.OneOf([v.value for v in ValueType]))
    amount = fields.Decimal(as_string=True)
    valuation_date = fields.Date()
    valid_until = fields.Date()
    in_force = fields.Boolean()
    method = fields.String(validate=validate.OneOf([m.value for m in ValuationMethod]))
    agency_org_id = fields.Integer()
    agency = fields.String()
    valuer_id = fields.Integer()
    signer = fields.Nested(SignerOut)
    basis = fields.String(allow_none=True)
    has_file = fields.Boolean()
    issued_at = UtcDateTime(allow_none=True)
    withdrawn_at = UtcDateTime(allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)
    superseded_by_id = fields.Integer(allow_none=True)


class AssetValuationList(Schema):
    asset_id = fields.Integer()
    items = fields.List(fields.Nested(ValuationOut))


class ExpertOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    agency = fields.String()
    agency_org_id = fields.Integer()
    title = fields.String(allow_none=True)
    bio = fields.String()
    specialities = fields.List(fields.String(), metadata={"description": "IPC symbols"})


class ExpertList(Schema):
    items = fields.List(fields.Nested(ExpertOut))


def valuation_json(v: Valuation) -> dict:
    return {
        "id": v.id, "asset_id": v.asset_id, "status": v.status.value, "value_type": v.value_type.value,
        "amount": v.amount, "valuation_date": v.valuation_date, "valid_until": v.valid_until,
        "in_force": v.in_force(utcnow().date()), "method": v.method.value, "agency_org_id": v.agency_org_id,
        "agency": v.agency.name, "valuer_id": v.valuer_id,
        "signer": {"name": v.signer_name, "qualification": v.signer_qualification},
        "basis": v.basis, "has_file": v.file_key is not None, "issued_at": v.issued_at,
        "withdrawn_at": v.withdrawn_at, "withdrawal_reason": v.withdrawal_reason,
        "superseded_by_id": v.superseded_by_id,
    }


def expert_json(e) -> dict:
    return {"id": e.id, "user_id": e.user_id, "name": e.user.name, "agency": e.user.organisation.name,
            "agency_org_id": e.user.organisation_id, "title": e.title, "bio": e.bio, "specialities": e.symbols}


@blp.route("/assets/<int:asset_id>/valuations")
@blp.doc(security=BEARER)
@blp.response(200, AssetValuationList)
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
@blp.response(201, ValuationOut)
@api_user(Role.VALUER, scope="write")
def create(data, actor):
    """A valuer issues a report (or saves a draft with `"issue": false`); conflicts of interest are refused (409)."""
    issue = data.pop("issue")
    data["value_type"] = ValueType(data["value_type"])
    data["method"] = ValuationMethod(data["method"])
    valuation = service.create_valuation(db.session, actor, service.ValuationInput(**data), utcnow(), issue=issue)
    db.session.commit()
    return valuation_json(valuation)


@blp.route("/valuations/<int:valuation_id>")
@blp.doc(security=BEARER)
@blp.response(200, ValuationOut)
@api_user()
def one(valuation_id, actor):
    """One valuation report the actor may read (its agency, the asset's owner, banks for issued reports, staff)."""
    return valuation_json(service.valuation_for(db.session, actor, valuation_id))


@blp.route("/experts")
@blp.doc(security=BEARER)
@blp.response(200, ExpertList)
@api_user()
def expert_list(actor):
    """The expert pool: experts with their IPC specialities."""
    return {"items": [expert_json(e) for e in experts.list_experts(db.session)]}


class AccuracyOut(Schema):
    agency_org_id = fields.Integer()
    agency = fields.String()
    valuer_id = fields.Integer()
    valuer = fields.String()
    sold_lots = fields.Integer()
    mean_abs_error = fields.Decimal(as_string=True, metadata={
        "description": "mean of |valuation - sale price| / sale price, a fraction (0.2500 is 25 %)"})


class AccuracyList(Schema):
    items = fields.List(fields.Nested(AccuracyOut))


class WithdrawRequest(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


@blp.route("/valuations/accuracy")
@blp.doc(security=BEARER)
@blp.response(200, AccuracyList)
@api_user(Role.STAFF, Role.VALUER, Role.BANK)
def accuracy(actor):
    """Valuer accuracy (评估责任): each lot the exchange sold compared with the latest valuation of its asset issued
    before the lot was listed; most accurate first (the web page /valuations/accuracy)."""
    return {"items": [{"agency_org_id": r.agency_id, "agency": r.agency, "valuer_id": r.valuer_id,
                       "valuer": r.valuer, "sold_lots": r.n, "mean_abs_error": r.mean_abs_error}
                      for r in service.valuer_accuracy(db.session)]}


@blp.route("/valuations/<int:valuation_id>/file")
@blp.doc(security=BEARER, responses={"200": {"description": "The signed report as PDF", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
@api_user()
def report_file(valuation_id, actor):
    """The report's PDF, for those who may read the report; 404 when it has none."""
    valuation = service.valuation_for(db.session, actor, valuation_id)
    path = files.stored_path(current_app.config["VALUATION_UPLOAD_DIR"], valuation.file_key) \
        if valuation.file_key else None
    if path is None or not path.exists():
        raise NotFound("This report has no file.")
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=valuation.file_name or f"valuation-{valuation.id}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/valuations/<int:valuation_id>/issue", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, ValuationOut)
@api_user(Role.VALUER, scope="write")
def issue(valuation_id, actor):
    """The agency issues one of its drafts (its earlier report of the same asset and value type is superseded);
    409 when it is not a draft or a conflict of interest has appeared."""
    valuation = service.issue_valuation(db.session, actor, valuation_id, utcnow())
    db.session.commit()
    return valuation_json(valuation)


@blp.route("/valuations/<int:valuation_id>/withdraw", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(WithdrawRequest)
@blp.response(200, ValuationOut)
@api_user(Role.VALUER, scope="write")
def withdraw(data, valuation_id, actor):
    """The agency withdraws one of its reports, saying why."""
    valuation = service.withdraw_valuation(db.session, actor, valuation_id, data["reason"], utcnow())
    db.session.commit()
    return valuation_json(valuation)
