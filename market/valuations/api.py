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
from market.valuations.models import (
    Consultation,
    ConsultationStatus,
    Valuation,
    ValuationMethod,
    ValuationStatus,
    ValueType,
)
from market.work import commit_or_rollback

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


# --- consultations with the expert pool (parity with /consultations) ----------------------------------------------


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
    organisation = fields.String()
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


class ConsultationList(Schema):
    items = fields.List(fields.Nested(ConsultationOut))


def consultation_json(c: Consultation) -> dict:
    return {"id": c.id, "status": c.status.value, "org_id": c.org_id, "organisation": c.org.name,
            "need_id": c.need_id, "asset_id": c.asset_id, "expert": expert_json(c.expert), "matched": c.matched,
            "question": c.question, "answer": c.answer, "suggested_amount": c.suggested_amount,
            "suggested_term_months": c.suggested_term_months,
            "suggested_value_type": c.suggested_value_type.value if c.suggested_value_type else None,
            "created_at": c.created_at, "answered_at": c.answered_at, "closed_at": c.closed_at}


@blp.route("/consultations", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, ConsultationList)
@api_user()
def consultation_list(actor):
    """The caller's consultations: an enterprise's requests, an expert's assignments (staff: all), newest first."""
    return {"items": [consultation_json(c) for c in experts.consultations_for(db.session, actor)]}


@blp.route("/consultations", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ConsultationRequest)
@blp.response(201, ConsultationOut)
@api_user(Role.ENTERPRISE, scope="write")
def consultation_request(data, actor):
    """An enterprise asks about one of its needs (`need_id`) or assets (`asset_id`): a chosen expert, or the best
    free match. The conflict rule: an expert tied to the enterprise, or to a lender or an earlier valuation of the
    assets, cannot be chosen (409) and is never matched."""
    consultation = commit_or_rollback(lambda: experts.request_consultation(
        db.session, actor, question=data["question"], need_id=data["need_id"], asset_id=data["asset_id"],
        expert_id=data["expert_id"], now=utcnow()))
    return consultation_json(consultation)


@blp.route("/consultations/<int:consultation_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, ConsultationOut)
@api_user()
def consultation_one(consultation_id, actor):
    """One consultation the caller may see (the enterprise that asked, the expert, staff); 404 otherwise."""
    return consultation_json(experts.consultation_for(db.session, actor, consultation_id))


@blp.route("/consultations/<int:consultation_id>/answer", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ConsultationAnswer)
@blp.response(200, ConsultationOut)
@api_user(Role.VALUER, scope="write")
def consultation_answer(data, consultation_id, actor):
    """The expert asked answers with a suggested financing plan (amount, term, value type); 409 when already
    answered or closed."""
    value_type = ValueType(data["suggested_value_type"]) if data["suggested_value_type"] else None
    consultation = commit_or_rollback(lambda: experts.answer_consultation(
        db.session, actor, consultation_id, answer=data["answer"], suggested_amount=data["suggested_amount"],
        suggested_term_months=data["suggested_term_months"], suggested_value_type=value_type, now=utcnow()))
    return consultation_json(consultation)


@blp.route("/consultations/<int:consultation_id>/close", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, ConsultationOut)
@api_user(Role.ENTERPRISE, scope="write")
def consultation_close(consultation_id, actor):
    """The enterprise that asked closes the consultation."""
    consultation = commit_or_rollback(lambda: experts.close_consultation(db.session, actor, consultation_id,
                                                                         utcnow()))
    return consultation_json(consultation)
