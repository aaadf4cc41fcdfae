"""JSON API of valuations and the expert pool (the shapes: `market.valuations.schemas`)."""

from __future__ import annotations

from flask import current_app, send_file
from flask_smorest import Blueprint

from market.accounts.models import Role
from market.api.auth import api_user
from market.db import db, utcnow
from market.errors import NotFound
from market.ip.models import IpAsset
from market.valuations import experts, files, service
from market.valuations.models import ValuationMethod, ValueType
from market.valuations.schemas import (
    AccuracyList,
    AssetValuationList,
    ConsultationAnswer,
    ConsultationList,
    ConsultationOut,
    ConsultationRequest,
    ExpertList,
    ValuationOut,
    ValuationRequest,
    WithdrawRequest,
)
from market.work import commit_or_rollback

blp = Blueprint("valuations_api", __name__, url_prefix="/api/v1", description="Valuation reports and the expert pool")


@blp.route("/assets/<int:asset_id>/valuations")
@blp.response(200, AssetValuationList)
@api_user()
def asset_valuations(asset_id, actor):
    """Issued and withdrawn valuation reports of an asset that the actor may read, newest first."""
    if db.session.get(IpAsset, asset_id) is None:
        raise NotFound("This asset does not exist.")
    return {"asset_id": asset_id, "items": service.visible_valuations(db.session, actor, asset_id)}


@blp.route("/valuations", methods=["POST"])
@blp.arguments(ValuationRequest)
@blp.response(201, ValuationOut)
@api_user(Role.VALUER, scope="write")
def create(data, actor):
    """A valuer issues a report (or saves a draft with `"issue": false`); conflicts of interest are refused (409)."""
    issue = data.pop("issue")
    data.update(value_type=ValueType(data["value_type"]), method=ValuationMethod(data["method"]))
    return commit_or_rollback(lambda: service.create_valuation(db.session, actor, service.ValuationInput(**data),
                                                               utcnow(), issue=issue))


@blp.route("/valuations/<int:valuation_id>")
@blp.response(200, ValuationOut)
@api_user()
def one(valuation_id, actor):
    """One valuation report the actor may read (its agency, the asset's owner, banks for issued reports, staff)."""
    return service.valuation_for(db.session, actor, valuation_id)


@blp.route("/experts")
@blp.response(200, ExpertList)
@api_user()
def expert_list(actor):
    """The expert pool: experts with their IPC specialities."""
    return {"items": experts.list_experts(db.session)}


@blp.route("/valuations/accuracy")
@blp.response(200, AccuracyList)
@api_user(Role.STAFF, Role.VALUER, Role.BANK)
def accuracy(actor):
    """Valuer accuracy (评估责任): each lot the exchange sold compared with the latest valuation of its asset issued
    before the lot was listed; most accurate first (the web page /valuations/accuracy)."""
    return {"items": service.valuer_accuracy(db.session)}


@blp.route("/valuations/<int:valuation_id>/file")
@blp.doc(responses={"200": {"description": "The signed report as PDF", "content": {
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
@blp.response(200, ValuationOut)
@api_user(Role.VALUER, scope="write")
def issue(valuation_id, actor):
    """The agency issues one of its drafts (its earlier report of the same asset and value type is superseded);
    409 when it is not a draft or a conflict of interest has appeared."""
    return commit_or_rollback(lambda: service.issue_valuation(db.session, actor, valuation_id, utcnow()))


@blp.route("/valuations/<int:valuation_id>/withdraw", methods=["POST"])
@blp.arguments(WithdrawRequest)
@blp.response(200, ValuationOut)
@api_user(Role.VALUER, scope="write")
def withdraw(data, valuation_id, actor):
    """The agency withdraws one of its reports, saying why."""
    return commit_or_rollback(lambda: service.withdraw_valuation(db.session, actor, valuation_id, data["reason"],
                                                                 utcnow()))


# --- consultations with the expert pool (parity with /consultations) ----------------------------------------------


@blp.route("/consultations", methods=["GET"])
@blp.response(200, ConsultationList)
@api_user()
def consultation_list(actor):
    """The caller's consultations: an enterprise's requests, an expert's assignments (staff: all), newest first."""
    return {"items": experts.consultations_for(db.session, actor)}


@blp.route("/consultations", methods=["POST"])
@blp.arguments(ConsultationRequest)
@blp.response(201, ConsultationOut)
@api_user(Role.ENTERPRISE, scope="write")
def consultation_request(data, actor):
    """An enterprise asks about one of its needs (`need_id`) or assets (`asset_id`): a chosen expert, or the best
    free match. The conflict rule: an expert tied to the enterprise, or to a lender or an earlier valuation of the
    assets, cannot be chosen (409) and is never matched."""
    return commit_or_rollback(lambda: experts.request_consultation(db.session, actor, now=utcnow(), **data))


@blp.route("/consultations/<int:consultation_id>", methods=["GET"])
@blp.response(200, ConsultationOut)
@api_user()
def consultation_one(consultation_id, actor):
    """One consultation the caller may see (the enterprise that asked, the expert, staff); 404 otherwise."""
    return experts.consultation_for(db.session, actor, consultation_id)


@blp.route("/consultations/<int:consultation_id>/answer", methods=["POST"])
@blp.arguments(ConsultationAnswer)
@blp.response(200, ConsultationOut)
@api_user(Role.VALUER, scope="write")
def consultation_answer(data, consultation_id, actor):
    """The expert asked answers with a suggested financing plan (amount, term, value type); 409 when already
    answered or closed."""
    value_type = data.pop("suggested_value_type")
    return commit_or_rollback(lambda: experts.answer_consultation(
        db.session, actor, consultation_id, now=utcnow(), suggested_value_type=ValueType(value_type) if value_type
        else None, **data))


@blp.route("/consultations/<int:consultation_id>/close", methods=["POST"])
@blp.response(200, ConsultationOut)
@api_user(Role.ENTERPRISE, scope="write")
def consultation_close(consultation_id, actor):
    """The enterprise that asked closes the consultation."""
    return commit_or_rollback(lambda: experts.close_consultation(db.session, actor, consultation_id, utcnow()))
