"""Organisations through the API: a lookup by unified social credit code or name (banks recording a loan need the
enterprise's id; staff review the queue), and staff verification (`POST /organisations/{id}/decision`, the same
rule and audit as the staff page)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from market.accounts import service
from market.accounts.models import Organisation, OrgKind, OrgStatus, Role
from market.api.auth import api_user
from market.api.fields import UtcDateTime
from market.api.pages import items_of
from market.db import db, utcnow
from market.errors import InvalidInput, NotFound
from market.work import commit_or_rollback

blp = Blueprint("organisations", __name__, url_prefix="/api/v1", description="Organisations")

LOOKUP_LIMIT = 20


class OrgQuery(Schema):
    credit_code = fields.String(validate=validate.Length(max=18))
    name = fields.String(validate=validate.Length(min=2, max=120),
                         metadata={"description": "Part of the name (at least 2 characters)"})
    kind = fields.String(validate=validate.OneOf([k.value for k in OrgKind]))
    status = fields.String(validate=validate.OneOf([s.value for s in OrgStatus]),
                           metadata={"description": "Staff only; others see verified organisations"})


class OrgOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    credit_code = fields.String(allow_none=True)
    status = fields.String(required=True)
    district_code = fields.String(allow_none=True)
    industry_code = fields.String(allow_none=True)
    verified_at = UtcDateTime(allow_none=True)


OrgList = items_of(OrgOut, "OrgList", required=True)


class Decision(Schema):
    approve = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class DecisionOut(OrgOut):
    status_reason = fields.String(allow_none=True)


def org_out(org: Organisation) -> dict:
    return {"id": org.id, "name": org.name, "kind": org.kind.value, "credit_code": org.credit_code,
            "status": org.status.value, "district_code": org.district_code, "industry_code": org.industry_code,
            "verified_at": org.verified_at, "status_reason": org.status_reason}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@blp.route("/organisations")
class Organisations(MethodView):
    @blp.arguments(OrgQuery, location="query")
    @blp.response(200, OrgList)
    @api_user(Role.BANK, Role.STAFF, Role.GUARANTOR, Role.INSURER, Role.VALUER)
    def get(self, args, actor):
        """Find organisations by unified social credit code (exact, check digit verified) or by part of the name;
        at most 20. Only staff see organisations that are not verified (filter them with `status`)."""
        if actor.role is not Role.STAFF and not (args.get("credit_code") or args.get("name")):
            raise InvalidInput("Look an organisation up by its credit code or part of its name.")
        query = select(Organisation)
        if args.get("credit_code"):
            query = query.where(Organisation.credit_code == service.normalise_credit_code(args["credit_code"]))
        if args.get("name"):
            query = query.where(Organisation.name.like(_like(args["name"].strip()), escape="\\"))
        if args.get("kind"):
            query = query.where(Organisation.kind == OrgKind(args["kind"]))
        if actor.role is Role.STAFF:
            if args.get("status"):
                query = query.where(Organisation.status == OrgStatus(args["status"]))
        else:
            query = query.where(Organisation.status == OrgStatus.VERIFIED)
        orgs = db.session.scalars(query.order_by(Organisation.name, Organisation.id).limit(LOOKUP_LIMIT)).all()
        return {"items": [org_out(o) for o in orgs]}


@blp.route("/organisations/<int:org_id>/decision", methods=["POST"])
@blp.arguments(Decision)
@blp.response(200, DecisionOut)
@api_user(Role.STAFF, scope="write")
def decide(data, org_id, actor):
    """Staff verify (`approve: true`) or reject (`approve: false` with a reason the applicant sees) an organisation;
    409 when its status does not allow it (e.g. already verified)."""
    if db.session.get(Organisation, org_id) is None:
        raise NotFound("No such organisation.")
    org = commit_or_rollback(lambda: service.decide_organisation(
        db.session, actor, org_id, approve=data["approve"], reason=data["reason"], now=utcnow()))
    return org_out(org)
