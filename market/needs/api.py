"""JSON API of the financing-needs database: needs, matches, loan products, claims (interest) and offers.
Rates are fractions (0.052), amounts decimal strings."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from market.accounts.models import Role
from market.api.auth import api_user
from market.db import db, utcnow
from market.errors import NotFound
from market.needs import browse, docking, matching, service
from market.needs.indexing import quick_drain
from market.needs.labels import reason_text
from market.needs.models import PUBLIC_STATUSES, Claim, LoanProduct, Need, Offer

blp = Blueprint("needs_api", __name__, url_prefix="/api/v1", description="Financing needs, matching and docking")
BEARER = [{"bearer": []}]


class Dec(fields.Decimal):
    """A decimal that never goes through binary floating point (JSON numbers arrive as floats)."""

    def _format_num(self, value):
        if isinstance(value, float):
            value = str(value)
        return super()._format_num(value)


def dec(**kw):
    return Dec(allow_nan=False, as_string=True, **kw)


class NeedRequest(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 120))
    amount = dec(required=True)
    term_months = fields.Integer(required=True, strict=True)
    purpose = fields.String(required=True, validate=validate.Length(1, 2000))
    max_rate = dec(required=True)
    asset_ids = fields.List(fields.Integer(strict=True), required=True, validate=validate.Length(max=50))
    tangible_collateral = fields.String(load_default=None, validate=validate.Length(max=500))
    tangible_value = dec(load_default=None)
    preferred_bank_ids = fields.List(fields.Integer(strict=True), load_default=list)
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
    min_amount = dec(required=True)
    max_amount = dec(required=True)
    min_term_months = fields.Integer(required=True, strict=True)
    max_term_months = fields.Integer(required=True, strict=True)
    min_rate = dec(required=True)
    max_rate = dec(required=True)
    accepted_kinds = fields.List(fields.String(), required=True)
    target_industries = fields.List(fields.String(), load_default=list)
    target_groups = fields.List(fields.String(), load_default=list)
    requires_guarantee = fields.Boolean(load_default=False)
    requires_insurance = fields.Boolean(load_default=False)
    max_ltv = fields.Dict(keys=fields.String(), values=dec(), load_default=dict)


class ClaimRequest(Schema):
    product_id = fields.Integer(load_default=None, strict=True)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class OfferRequest(Schema):
    amount = dec(required=True)
    annual_rate = dec(required=True)
    term_months = fields.Integer(required=True, strict=True)
    product_id = fields.Integer(load_default=None, strict=True)
    conditions = fields.String(load_default=None, validate=validate.Length(max=2000))


def need_json(need: Need, detail: bool = False) -> dict:
    body = {
        "id": need.id, "status": need.status.value, "title": need.title, "org_id": need.org_id,
        "org_name": need.org.name, "amount": str(need.amount), "term_months": need.term_months,
        "max_rate": str(need.max_rate), "industry_code": need.industry_code, "groups": need.group_codes,
        "district_code": need.district_code, "ip_kinds": need.ip_kinds, "ipc_sections": need.ipc_sections,
        "ipc_classes": need.ipc_classes, "amount_band": need.amount_band, "asset_ids": need.asset_ids,
        "published_at": need.published_at.isoformat() if need.published_at else None,
    }
    if detail:
        body.update({
            "purpose": need.purpose, "tangible_collateral": need.tangible_collateral,
            "tangible_value": str(need.tangible_value) if need.tangible_value is not None else None,
            "preferred_bank_ids": need.preferred_bank_ids, "rejection_reason": need.rejection_reason,
            "review_checklist": need.review_checklist,
            "accepted_offer_id": need.accepted_offer.id if need.accepted_offer else None,
            "escalated_at": need.escalated_at.isoformat() if need.escalated_at else None,
        })
    return body


def _loan_summary(need: Need, actor) -> dict | None:
    from market.loans import service as loans

    loan = loans.loan_of_need(db.session, need)
    if loan is None or not (actor.role is Role.STAFF
                            or actor.organisation_id in (loan.bank_org_id, loan.enterprise_org_id)):
        return None
    today = utcnow().date()
    return {
        "id": loan.id, "status": loan.status.value, "bank_org_id": loan.bank_org_id, "principal": str(loan.principal),
        "annual_rate": str(loan.annual_rate), "term_months": loan.term_months,
        "signed_on": loan.signed_on.isoformat(), "maturity": loan.maturity.isoformat(),
        "outstanding_principal": str(loans.outstanding_principal(loan)),
        "overdue_amount": str(loans.amount_overdue(loan, today)),
        "repayments": [{"paid_on": r.paid_on.isoformat(), "principal": str(r.principal), "interest": str(r.interest)}
                       for r in loan.repayments],
        "watch_flags": [{"asset_id": f.asset_id, "reason": f.reason, "raised_at": f.raised_at.isoformat(),
                         "resolved_at": f.resolved_at.isoformat() if f.resolved_at else None} for f in loan.flags],
    }


def product_json(p: LoanProduct) -> dict:
    return {
        "id": p.id, "bank_org_id": p.bank_org_id, "bank_name": p.bank.name, "name": p.name,
        "description": p.description, "min_amount": str(p.min_amount), "max_amount": str(p.max_amount),
        "min_term_months": p.min_term_months, "max_term_months": p.max_term_months, "min_rate": str(p.min_rate),
        "max_rate": str(p.max_rate), "accepted_kinds": p.accepted_kinds, "target_industries": p.target_industries,
        "target_groups": p.target_groups, "requires_guarantee": p.requires_guarantee,
        "requires_insurance": p.requires_insurance, "max_ltv": p.max_ltv, "active": p.active,
    }


def claim_json(c: Claim) -> dict:
    return {"id": c.id, "need_id": c.need_id, "bank_org_id": c.bank_org_id, "product_id": c.product_id,
            "status": c.status.value, "note": c.note,
            "meeting_at": c.meeting_at.isoformat() if c.meeting_at else None, "created_at": c.created_at.isoformat()}


def offer_json(o: Offer) -> dict:
    return {"id": o.id, "need_id": o.need_id, "bank_org_id": o.bank_org_id, "product_id": o.product_id,
            "amount": str(o.amount), "annual_rate": str(o.annual_rate), "term_months": o.term_months,
            "conditions": o.conditions, "status": o.status.value, "created_at": o.created_at.isoformat(),
            "decided_at": o.decided_at.isoformat() if o.decided_at else None}


def match_json(m: matching.Match) -> dict:
    return {"need_id": m.need_id, "product_id": m.product_id, "bank_org_id": m.bank_org_id, "score": m.score,
            "reasons": [{"criterion": r.criterion, "fits": r.fits, "points": r.points, "message": reason_text(r)}
                        for r in m.reasons]}


def _need_input(data: dict) -> service.NeedInput:
    return service.NeedInput(
        title=data["title"], amount=data["amount"], term_months=data["term_months"], purpose=data["purpose"],
        max_rate=data["max_rate"], asset_ids=data["asset_ids"], tangible_collateral=data["tangible_collateral"],
        tangible_value=data["tangible_value"], preferred_bank_ids=data["preferred_bank_ids"])


@blp.route("/needs")
class Needs(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(NeedQuery, location="query")
    @api_user()
    def get(self, args, actor):
        """Published needs (and needs in talks) with filters and facet counts."""
        page, per_page = args.pop("page"), args.pop("per_page")
        from market.needs.indexing import get_backend

        result = browse.search_needs(db.session, get_backend(), args, page=page, per_page=per_page)
        return {"engine": result.engine, "total": result.total, "page": result.page, "per_page": result.per_page,
                "items": [need_json(n) for n in result.items],
                "facets": {k: [{"value": v, "count": c} for v, c in values] for k, values in result.facets.items()}}

    @blp.doc(security=BEARER)
    @blp.arguments(NeedRequest)
    @api_user(Role.ENTERPRISE, scope="write")
    def post(self, data, actor):
        """Post a need of the actor's enterprise (a draft, or submitted for review with `submit`)."""
        need = service.create_need(db.session, actor, _need_input(data), utcnow(), submit=data["submit"])
        db.session.commit()
        return need_json(need, detail=True), 201


@blp.route("/needs/<int:need_id>")
class NeedOne(MethodView):
    @blp.doc(security=BEARER)
    @api_user()
    def get(self, need_id, actor):
        """One need; unpublished needs of others are 404. `loan` (post-loan maintenance) is the loan signed from the
        accepted offer, shown to the enterprise, the lending bank and staff: status, outstanding principal,
        overdue amount, repayments and watch flags."""
        need = service.visible_need(db.session, actor, need_id)
        body = need_json(need, detail=True)
        body["loan"] = _loan_summary(need, actor)
        return body

    @blp.doc(security=BEARER)
    @blp.arguments(NeedRequest)
    @api_user(Role.ENTERPRISE, scope="write")
    def put(self, data, need_id, actor):
        """Change a draft or rejected need (submit again with `submit`)."""
        now = utcnow()
        need = service.update_need(db.session, actor, need_id, _need_input(data), now)
        if data["submit"]:
            service.submit_need(db.session, actor, need_id, now)
        db.session.commit()
        return need_json(need, detail=True)


def _need_action(name: str, fn, role: Role):
    @blp.route(f"/needs/<int:need_id>/{name}", endpoint=f"need_{name}", methods=["POST"])
    @blp.doc(security=BEARER)
    @api_user(role, scope="write")
    def action(need_id, actor):
        need = fn(db.session, actor, need_id, utcnow())
        db.session.commit()
        quick_drain()
        return need_json(need, detail=True)

    action.__doc__ = f"{name.capitalize()} the need."
    return action


_need_action("submit", service.submit_need, Role.ENTERPRISE)
_need_action("withdraw", service.withdraw_need, Role.ENTERPRISE)


@blp.route("/needs/<int:need_id>/review", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ReviewRequest)
@api_user(Role.STAFF, scope="write")
def review(data, need_id, actor):
    """Staff publish (every checklist item true) or reject with a reason."""
    need = service.review_need(db.session, actor, need_id, data["approve"], data["checklist"], data["reason"],
                               utcnow())
    db.session.commit()
    quick_drain()
    return need_json(need, detail=True)


@blp.route("/needs/<int:need_id>/matches")
@blp.doc(security=BEARER)
@api_user()
def need_matches(need_id, actor):
    """Loan products ranked for one need, each with its score and reasons (a bank sees its own products)."""
    need = service.visible_need(db.session, actor, need_id)
    bank_id = actor.organisation_id if actor.role is Role.BANK else None
    products = docking.active_products(db.session, bank_id)
    return {"need_id": need.id, "items": [match_json(m) for m in matching.rank_products(need, products)]}


@blp.route("/matches")
@blp.doc(security=BEARER)
@api_user(Role.BANK)
def bank_matches(actor):
    """Published needs ranked for the actor's bank, each with its best product, score and reasons."""
    products = docking.active_products(db.session, actor.organisation_id)
    needs = db.session.scalars(select(Need).options(selectinload(Need.preferred))
                               .where(Need.status.in_(PUBLIC_STATUSES))).all()
    return {"items": [match_json(m) for m in matching.rank_needs(needs, products)]}


@blp.route("/products")
class Products(MethodView):
    @blp.doc(security=BEARER)
    @api_user()
    def get(self, actor):
        """Active loan products of every bank."""
        return {"items": [product_json(p) for p in docking.active_products(db.session)]}

    @blp.doc(security=BEARER)
    @blp.arguments(ProductRequest)
    @api_user(Role.BANK, scope="write")
    def post(self, data, actor):
        """Publish a loan product of the actor's bank."""
        product = docking.save_product(db.session, actor, docking.ProductInput(**data), utcnow())
        db.session.commit()
        return product_json(product), 201


@blp.route("/products/<int:product_id>")
@blp.doc(security=BEARER)
@api_user()
def product_one(product_id, actor):
    product = db.session.get(LoanProduct, product_id)
    if product is None or not product.active:
        raise NotFound("This loan product does not exist.")
    return product_json(product)


def _docking_visible(need: Need, actor) -> bool:
    return actor.role is Role.STAFF or actor.organisation_id == need.org_id


@blp.route("/needs/<int:need_id>/claims")
class Claims(MethodView):
    @blp.doc(security=BEARER)
    @api_user()
    def get(self, need_id, actor):
        """Docking records of a need: all for its enterprise and staff, a bank's own for a bank."""
        need = service.visible_need(db.session, actor, need_id)
        claims = [c for c in need.claims if _docking_visible(need, actor) or c.bank_org_id == actor.organisation_id]
        return {"items": [claim_json(c) for c in claims]}

    @blp.doc(security=BEARER)
    @blp.arguments(ClaimRequest)
    @api_user(Role.BANK, scope="write")
    def post(self, data, need_id, actor):
        """The actor's bank declares interest in a published need."""
        claim = docking.claim_need(db.session, actor, need_id, utcnow(), product_id=data["product_id"],
                                   note=data["note"])
        db.session.commit()
        quick_drain()
        return claim_json(claim), 201


@blp.route("/needs/<int:need_id>/offers")
class Offers(MethodView):
    @blp.doc(security=BEARER)
    @api_user()
    def get(self, need_id, actor):
        need = service.visible_need(db.session, actor, need_id)
        offers = [o for o in need.offers if _docking_visible(need, actor) or o.bank_org_id == actor.organisation_id]
        return {"items": [offer_json(o) for o in offers]}

    @blp.doc(security=BEARER)
    @blp.arguments(OfferRequest)
    @api_user(Role.BANK, scope="write")
    def post(self, data, need_id, actor):
        """The actor's bank offers a loan on the need (claiming it first when it has not)."""
        offer = docking.make_offer(db.session, actor, need_id, data["amount"], data["annual_rate"],
                                   data["term_months"], utcnow(), product_id=data["product_id"],
                                   conditions=data["conditions"])
        db.session.commit()
        quick_drain()
        return offer_json(offer), 201


def _offer_action(name: str, fn, role: Role):
    @blp.route(f"/offers/<int:offer_id>/{name}", endpoint=f"offer_{name}", methods=["POST"])
    @blp.doc(security=BEARER)
    @api_user(role, scope="write")
    def action(offer_id, actor):
        offer = fn(db.session, actor, offer_id, utcnow())
        db.session.commit()
        return offer_json(offer)

    action.__doc__ = f"{name.capitalize()} the offer."
    return action


_offer_action("accept", docking.accept_offer, Role.ENTERPRISE)
_offer_action("decline", docking.decline_offer, Role.ENTERPRISE)
_offer_action("withdraw", docking.withdraw_offer, Role.BANK)


