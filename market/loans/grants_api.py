"""The API of the fund's third and fourth uses: intermediary rewards and the enterprise interest subsidy (staff)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from market.accounts.models import Role
from market.api.auth import api_user
from market.api.fields import UtcDateTime
from market.db import db, utcnow
from market.loans.fund import waiting_grants
from market.loans.grants import all_grants, grant_interest_subsidy, grant_intermediary_rewards
from market.loans.models import FundGrant
from market.policy.rules import ZERO
from market.work import commit_or_rollback

blp = Blueprint("fund_grants_api", __name__, url_prefix="/api/v1",
                description="The fund's intermediary rewards and enterprise interest subsidies")
REQ = {"required": True}


def _money(**kw):
    return fields.Decimal(as_string=True, **kw)


class GrantOut(Schema):
    id = fields.Integer(**REQ)
    ref = fields.String(**REQ)
    kind = fields.String(**REQ, metadata={"description": "`intermediary_rewards` or `enterprise_interest_subsidy`"})
    loan_id = fields.Integer(**REQ)
    org_id = fields.Integer(**REQ, metadata={"description": "Who is paid: the intermediary or the enterprise"})
    basis = _money(**REQ, metadata={"description": "The principal (reward) or the interest paid to date (subsidy)"})
    amount = _money(**REQ)
    status = fields.String(**REQ, metadata={"description": "`waiting` (for the fund, in spending order) or `paid`"})
    created_at = UtcDateTime(**REQ)
    paid_at = UtcDateTime(allow_none=True, **REQ)


class GrantList(Schema):
    waiting_amount = _money(**REQ)
    items = fields.List(fields.Nested(GrantOut), **REQ)


def grant_body(grant: FundGrant) -> dict:
    return {name: getattr(grant, name) for name in GrantOut._declared_fields} | {
        "kind": grant.kind.value, "status": grant.status.value}


@blp.route("/fund/grants")
class Grants(MethodView):
    @blp.response(200, GrantList)
    @api_user(Role.STAFF)
    def get(self, actor):
        """The latest 200 rewards and interest subsidies (staff), newest first, and the amount still waiting."""
        waiting = waiting_grants(db.session, utcnow())
        return {"waiting_amount": sum((g.amount for g in waiting), ZERO),
                "items": [grant_body(g) for g in all_grants(db.session)]}


@blp.route("/loans/<int:loan_id>/intermediary-rewards")
class Rewards(MethodView):
    @blp.response(201, GrantOut(many=True))
    @api_user(Role.STAFF, scope="write")
    def post(self, loan_id, actor):
        """Reward the loan's guarantor and insurer once each (staff); the fund pays them after every waiting claim.
        Repeating it grants nothing new. 409 when the loan is not in effect, above its rate cap, or has no
        intermediary."""
        grants = commit_or_rollback(lambda: grant_intermediary_rewards(db.session, actor, loan_id, utcnow()))
        return [grant_body(g) for g in grants]


@blp.route("/loans/<int:loan_id>/interest-subsidies")
class InterestSubsidies(MethodView):
    @blp.response(201, GrantOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, loan_id, actor):
        """Grant the enterprise the interest subsidy owed on the interest paid since the last grant (staff); paid
        last in the spending order. 409 when nothing new is owed, or the loan defaulted or is above its rate cap."""
        return grant_body(commit_or_rollback(lambda: grant_interest_subsidy(db.session, actor, loan_id, utcnow())))
