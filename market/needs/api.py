"""JSON API of the financing-needs database: needs, matches, loan products, claims (interest), meetings and offers,
a bank's or an enterprise's docking records across needs, and the public bulletins. Rates are fractions (0.052),
amounts decimal strings, times RFC 3339 date-times in UTC; every success body is described by a schema below."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from market.accounts.models import Role
from market.api.auth import api_user
from market.api.fields import UtcDateTime, bounded, row_id
from market.bounded import AMOUNT, AMOUNT_OR_ZERO, ANNUAL_RATE, LOAN_TO_VALUE
from market.db import db, utcnow
from market.errors import Forbidden, NotFound
from market.needs import browse, docking, matching, service
from market.needs.bulletin import get_bulletin
from market.needs.indexing import quick_drain
from market.needs.labels import reason_text
from market.needs.models import (
    PUBLIC_STATUSES,
    Bulletin,
    Claim,
    ClaimStatus,
    LoanProduct,
    Need,
    NeedStatus,
    Offer,
    OfferStatus,
)

blp = Blueprint("needs_api", __name__, url_prefix="/api/v1", description="Financing needs, matching and docking")
BEARER = [{"bearer": []}]


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


def money(**kw):
    return fields.Decimal(as_string=True, **kw)


class NeedOut(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in NeedStatus]))
    title = fields.String(required=True)
    org_id = fields.Integer(required=True)
    org_name = fields.String(required=True)
    amount = money(required=True)
    term_months = fields.Integer(required=True)
    max_rate = money(required=True, metadata={"description": "highest annual rate accepted, a fraction"})
    industry_code = fields.String(allow_none=True)
    groups = fields.List(fields.String())
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
    accepted_offer_id = fields.Integer(allow_none=True)
    escalated_at = UtcDateTime(allow_none=True)


class NeedLoanRepaymentOut(Schema):
    paid_on = fields.Date()
    principal = money()
    interest = money()


class NeedLoanWatchFlagOut(Schema):
    asset_id = fields.Integer()
    reason = fields.String()
    raised_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)


class NeedLoanOut(Schema):
    id = fields.Integer()
    status = fields.String()
    bank_org_id = fields.Integer()
    principal = money()
    annual_rate = money()
    term_months = fields.Integer()
    signed_on = fields.Date()
    maturity = fields.Date()
    outstanding_principal = money()
    overdue_amount = money()
    repayments = fields.List(fields.Nested(NeedLoanRepaymentOut))
    watch_flags = fields.List(fields.Nested(NeedLoanWatchFlagOut))


class NeedDetailList(Schema):
    items = fields.List(fields.Nested(NeedDetailOut))


class ReviewQueueOut(Schema):
    submitted = fields.List(fields.Nested(NeedDetailOut), metadata={"description": "waiting for review, oldest first"})
    escalated = fields.List(fields.Nested(NeedDetailOut), metadata={
        "description": "published needs no bank answered in time, escalated to staff"})


class NeedOneOut(NeedDetailOut):
    loan = fields.Nested(NeedLoanOut, allow_none=True, metadata={
        "description": "post-loan maintenance: the loan signed from the accepted offer (enterprise, bank, staff)"})


class NeedFacetBucketOut(Schema):
    value = fields.String()
    count = fields.Integer()


class NeedPage(Schema):
    engine = fields.String()
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(NeedOut))
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(NeedFacetBucketOut)))


class MatchReasonOut(Schema):
    criterion = fields.String()
    fits = fields.Boolean()
    points = fields.Integer()
    message = fields.String()


class MatchOut(Schema):
    need_id = fields.Integer()
    product_id = fields.Integer()
    bank_org_id = fields.Integer()
    score = fields.Integer()
    reasons = fields.List(fields.Nested(MatchReasonOut))


class NeedMatches(Schema):
    need_id = fields.Integer()
    items = fields.List(fields.Nested(MatchOut))


class MatchList(Schema):
    items = fields.List(fields.Nested(MatchOut))


class LoanProductOut(Schema):
    id = fields.Integer()
    bank_org_id = fields.Integer()
    bank_name = fields.String()
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


class LoanProductList(Schema):
    items = fields.List(fields.Nested(LoanProductOut))


class DockingClaimOut(Schema):
    id = fields.Integer()
    need_id = fields.Integer()
    need_title = fields.String()
    need_status = fields.String()
    bank_org_id = fields.Integer()
    bank_name = fields.String()
    product_id = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf([s.value for s in ClaimStatus]))
    note = fields.String(allow_none=True)
    meeting_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class DockingOfferOut(Schema):
    id = fields.Integer()
    need_id = fields.Integer()
    need_title = fields.String()
    need_status = fields.String()
    claim_id = fields.Integer(allow_none=True)
    bank_org_id = fields.Integer()
    bank_name = fields.String()
    product_id = fields.Integer(allow_none=True)
    amount = money()
    annual_rate = money()
    term_months = fields.Integer()
    conditions = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf([s.value for s in OfferStatus]))
    created_at = UtcDateTime()
    decided_at = UtcDateTime(allow_none=True)
    loan_id = fields.Integer(allow_none=True, metadata={
        "description": "the loan signed from this offer once accepted (POST /offers/{id}/loan signs it)"})


class DockingClaimList(Schema):
    items = fields.List(fields.Nested(DockingClaimOut))


class DockingOfferList(Schema):
    items = fields.List(fields.Nested(DockingOfferOut))


class Paged(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class DockingClaimPage(Paged, DockingClaimList):
    pass


class DockingOfferPage(Paged, DockingOfferList):
    pass


class BulletinOut(Schema):
    number = fields.Integer()
    period_start = fields.Date(metadata={"description": "first day covered"})
    period_end = fields.Date(metadata={"description": "the day after the last day covered"})
    need_count = fields.Integer()
    published_at = UtcDateTime()
    url = fields.String()
    csv_url = fields.String()
    atom_url = fields.String()


class BulletinEntryOut(Schema):
    need_id = fields.Integer()
    title = fields.String()
    enterprise = fields.String()
    amount = money()
    term_months = fields.Integer()
    max_rate = money()
    industry_code = fields.String(allow_none=True)
    district_code = fields.String(allow_none=True)
    ip_kinds = fields.List(fields.String())
    ipc_classes = fields.List(fields.String())
    purpose = fields.String()
    published_at = UtcDateTime()


class BulletinDetailOut(BulletinOut):
    entries = fields.List(fields.Nested(BulletinEntryOut))


class BulletinList(Schema):
    items = fields.List(fields.Nested(BulletinOut))


# --- bodies ----------------------------------------------------------------------------------------------------


def need_json(need: Need, detail: bool = False) -> dict:
    body = {
        "id": need.id, "status": need.status.value, "title": need.title, "org_id": need.org_id,
        "org_name": need.org.name, "amount": need.amount, "term_months": need.term_months,
        "max_rate": need.max_rate, "industry_code": need.industry_code, "groups": need.group_codes,
        "district_code": need.district_code, "ip_kinds": need.ip_kinds, "ipc_sections": need.ipc_sections,
        "ipc_classes": need.ipc_classes, "amount_band": need.amount_band, "asset_ids": need.asset_ids,
        "published_at": need.published_at,
    }
    if detail:
        body.update({
            "purpose": need.purpose, "tangible_collateral": need.tangible_collateral,
            "tangible_value": need.tangible_value,
            "preferred_bank_ids": need.preferred_bank_ids, "rejection_reason": need.rejection_reason,
            "review_checklist": need.review_checklist,
            "accepted_offer_id": need.accepted_offer.id if need.accepted_offer else None,
            "escalated_at": need.escalated_at,
        })
    return body


def _loan_summary(need: Need, actor) -> dict | None:
    from market.loans.schedule import amount_overdue, outstanding_principal
    from market.loans.signing import loan_of_need

    loan = loan_of_need(db.session, need)
    if loan is None or not (actor.role is Role.STAFF
                            or actor.organisation_id in (loan.bank_org_id, loan.enterprise_org_id)):
        return None
    today = utcnow().date()
    return {
        "id": loan.id, "status": loan.status.value, "bank_org_id": loan.bank_org_id, "principal": loan.principal,
        "annual_rate": loan.annual_rate, "term_months": loan.term_months,
        "signed_on": loan.signed_on, "maturity": loan.maturity,
        "outstanding_principal": outstanding_principal(loan),
        "overdue_amount": amount_overdue(loan, today),
        "repayments": [{"paid_on": r.paid_on, "principal": r.principal, "interest": r.interest}
                       for r in loan.repayments],
        "watch_flags": [{"asset_id": f.asset_id, "reason": f.reason, "raised_at": f.raised_at,
                         "resolved_at": f.resolved_at} for f in loan.flags],
    }


def product_json(p: LoanProduct) -> dict:
    return {
        "id": p.id, "bank_org_id": p.bank_org_id, "bank_name": p.bank.name, "name": p.name,
        "description": p.description, "min_amount": p.min_amount, "max_amount": p.max_amount,
        "min_term_months": p.min_term_months, "max_term_months": p.max_term_months, "min_rate": p.min_rate,
        "max_rate": p.max_rate, "accepted_kinds": p.accepted_kinds, "target_industries": p.target_industries,
        "target_groups": p.target_groups, "requires_guarantee": p.requires_guarantee,
        "requires_insurance": p.requires_insurance, "max_ltv": p.max_ltv, "active": p.active,
        "updated_at": p.updated_at,
    }


def claim_json(c: Claim) -> dict:
    return {"id": c.id, "need_id": c.need_id, "need_title": c.need.title, "need_status": c.need.status.value,
            "bank_org_id": c.bank_org_id, "bank_name": c.bank.name, "product_id": c.product_id,
            "status": c.status.value, "note": c.note, "meeting_at": c.meeting_at, "created_at": c.created_at,
            "updated_at": c.updated_at}


def _loan_id_of(offer: Offer) -> int | None:
    if offer.status is not OfferStatus.ACCEPTED:
        return None
    from market.loans.signing import loan_of_offer

    loan = loan_of_offer(db.session, offer.id)
    return loan.id if loan else None


def offer_json(o: Offer) -> dict:
    return {"id": o.id, "need_id": o.need_id, "need_title": o.need.title, "need_status": o.need.status.value,
            "claim_id": o.claim_id, "bank_org_id": o.bank_org_id, "bank_name": o.bank.name,
            "product_id": o.product_id, "amount": o.amount, "annual_rate": o.annual_rate,
            "term_months": o.term_months, "conditions": o.conditions, "status": o.status.value,
            "created_at": o.created_at, "decided_at": o.decided_at, "loan_id": _loan_id_of(o)}


def match_json(m: matching.Match) -> dict:
    return {"need_id": m.need_id, "product_id": m.product_id, "bank_org_id": m.bank_org_id, "score": m.score,
            "reasons": [{"criterion": r.criterion, "fits": r.fits, "points": r.points, "message": reason_text(r)}
                        for r in m.reasons]}


def bulletin_json(b: Bulletin, detail: bool = False) -> dict:
    body = {"number": b.number, "period_start": b.period_start, "period_end": b.period_end,
            "need_count": len(b.need_ids or []), "published_at": b.published_at,
            "url": url_for("bulletins.bulletin_page", number=b.number),
            "csv_url": url_for("bulletins.bulletin_csv", number=b.number),
            "atom_url": url_for("bulletins.bulletin_atom", number=b.number)}
    if detail:
        body["entries"] = [{
            **{k: e.get(k) for k in ("need_id", "title", "enterprise", "amount", "term_months", "max_rate",
                                     "industry_code", "district_code", "purpose")},
            "ip_kinds": [x for x in (e.get("ip_kinds") or "").split(",") if x],
            "ipc_classes": [x for x in (e.get("ipc_classes") or "").split(",") if x],
            "published_at": datetime.fromisoformat(e["published_at"]),
        } for e in b.entries]
    return body


def _need_input(data: dict) -> service.NeedInput:
    return service.NeedInput(
        title=data["title"], amount=data["amount"], term_months=data["term_months"], purpose=data["purpose"],
        max_rate=data["max_rate"], asset_ids=data["asset_ids"], tangible_collateral=data["tangible_collateral"],
        tangible_value=data["tangible_value"], preferred_bank_ids=data["preferred_bank_ids"])


@blp.route("/needs")
class Needs(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(NeedQuery, location="query")
    @blp.response(200, NeedPage)
    @api_user()
    def get(self, args, actor):
        """Published needs (and needs in talks) with filters and facet counts."""
        page, per_page = args.pop("page"), args.pop("per_page")
        from market.needs.indexing import get_backend

        result = browse.search_needs(db.session, get_backend(), args, page=page, per_page=per_page,
                                     catch_up=True)
        return {"engine": result.engine, "total": result.total, "page": result.page, "per_page": result.per_page,
                "items": [need_json(n) for n in result.items],
                "facets": {k: [{"value": v, "count": c} for v, c in values] for k, values in result.facets.items()}}

    @blp.doc(security=BEARER)
    @blp.arguments(NeedRequest)
    @blp.response(201, NeedDetailOut)
    @api_user(Role.ENTERPRISE, scope="write")
    def post(self, data, actor):
        """Post a need of the actor's enterprise (a draft, or submitted for review with `submit`)."""
        need = service.create_need(db.session, actor, _need_input(data), utcnow(), submit=data["submit"])
        db.session.commit()
        return need_json(need, detail=True)


@blp.route("/needs/mine")
@blp.doc(security=BEARER)
@blp.response(200, NeedDetailList)
@api_user(Role.ENTERPRISE)
def my_needs(actor):
    """Every need of the actor's enterprise, in any state, newest first."""
    return {"items": [need_json(n, detail=True) for n in service.needs_of(db.session, actor)]}


@blp.route("/needs/review-queue")
@blp.doc(security=BEARER)
@blp.response(200, ReviewQueueOut)
@api_user(Role.STAFF)
def review_queue(actor):
    """Staff: needs waiting for review, and published needs escalated because no bank answered in time."""
    return {"submitted": [need_json(n, detail=True) for n in service.review_queue(db.session)],
            "escalated": [need_json(n, detail=True) for n in docking.escalated_needs(db.session)]}


@blp.route("/needs/<int:need_id>")
class NeedOne(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, NeedOneOut)
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
    @blp.response(200, NeedDetailOut)
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
    @blp.response(200, NeedDetailOut)
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
@blp.response(200, NeedDetailOut)
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
@blp.response(200, NeedMatches)
@api_user()
def need_matches(need_id, actor):
    """Loan products ranked for one need, each with its score and reasons (a bank sees its own products)."""
    need = service.visible_need(db.session, actor, need_id)
    bank_id = actor.organisation_id if actor.role is Role.BANK else None
    products = docking.active_products(db.session, bank_id)
    return {"need_id": need.id, "items": [match_json(m) for m in matching.rank_products(need, products)]}


@blp.route("/matches")
@blp.doc(security=BEARER)
@blp.response(200, MatchList)
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
    @blp.arguments(LoanProductQuery, location="query")
    @blp.response(200, LoanProductList)
    @api_user()
    def get(self, args, actor):
        """Active loan products of every bank; with `mine=true`, every product of the actor's bank (inactive ones
        included)."""
        if not args["mine"]:
            return {"items": [product_json(p) for p in docking.active_products(db.session)]}
        if actor.role is not Role.BANK:
            raise Forbidden("Only banks have loan products of their own.")
        return {"items": [product_json(p) for p in docking.bank_products(db.session, actor.organisation_id)]}

    @blp.doc(security=BEARER)
    @blp.arguments(ProductRequest)
    @blp.response(201, LoanProductOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, actor):
        """Publish a loan product of the actor's bank."""
        product = docking.save_product(db.session, actor, docking.ProductInput(**data), utcnow())
        db.session.commit()
        return product_json(product)


@blp.route("/products/<int:product_id>")
class ProductOne(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, LoanProductOut)
    @api_user()
    def get(self, product_id, actor):
        """One active loan product (the bank that owns it also sees it when inactive)."""
        product = db.session.get(LoanProduct, product_id)
        if product is None or not (product.active or product.bank_org_id == actor.organisation_id):
            raise NotFound("This loan product does not exist.")
        return product_json(product)

    @blp.doc(security=BEARER)
    @blp.arguments(ProductRequest)
    @blp.response(200, LoanProductOut)
    @api_user(Role.BANK, scope="write")
    def put(self, data, product_id, actor):
        """Change a loan product of the actor's bank (the whole product, as when publishing it); 403 for another
        bank's product."""
        product = docking.save_product(db.session, actor, docking.ProductInput(**data), utcnow(),
                                       product_id=product_id)
        db.session.commit()
        return product_json(product)


def _product_switch(name: str, active: bool):
    @blp.route(f"/products/<int:product_id>/{name}", endpoint=f"product_{name}", methods=["POST"])
    @blp.doc(security=BEARER)
    @blp.response(200, LoanProductOut)
    @api_user(Role.BANK, scope="write")
    def action(product_id, actor):
        product = docking.set_product_active(db.session, actor, product_id, active, utcnow())
        db.session.commit()
        return product_json(product)

    action.__doc__ = ("Put a product of the actor's bank back on the market (409 when it is active)." if active else
                      "Take a product of the actor's bank off the market: it no longer lists or matches; docking "
                      "records and offers that name it keep it (409 when it is inactive).")
    return action


_product_switch("deactivate", False)
_product_switch("activate", True)


def _docking_of_need(need_id: int, actor, records: str) -> list:
    """A need's claims or offers: all for its enterprise and staff, a bank's own for a bank."""
    need = service.visible_need(db.session, actor, need_id)
    everything = actor.role is Role.STAFF or actor.organisation_id == need.org_id
    return [x for x in getattr(need, records) if everything or x.bank_org_id == actor.organisation_id]


@blp.route("/needs/<int:need_id>/claims")
class Claims(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, DockingClaimList)
    @api_user()
    def get(self, need_id, actor):
        """Docking records of a need: all for its enterprise and staff, a bank's own for a bank."""
        return {"items": [claim_json(c) for c in _docking_of_need(need_id, actor, "claims")]}

    @blp.doc(security=BEARER)
    @blp.arguments(ClaimRequest)
    @blp.response(201, DockingClaimOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, need_id, actor):
        """The actor's bank declares interest in a published need."""
        claim = docking.claim_need(db.session, actor, need_id, utcnow(), product_id=data["product_id"],
                                   note=data["note"])
        db.session.commit()
        quick_drain()
        return claim_json(claim)


@blp.route("/needs/<int:need_id>/meeting", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(MeetingRequest)
@blp.response(200, DockingClaimOut)
@api_user(Role.BANK, scope="write")
def meeting(data, need_id, actor):
    """The bank that claimed the need arranges a meeting with the enterprise (or moves it while the docking record
    is at the meeting stage): 404 without a claim, 409 once an offer is made or the record is closed, 422 for a
    time not in the future."""
    at = data["meeting_at"]
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    claim = docking.schedule_meeting(db.session, actor, need_id, at, utcnow())
    db.session.commit()
    return claim_json(claim)


@blp.route("/needs/<int:need_id>/offers")
class Offers(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, DockingOfferList)
    @api_user()
    def get(self, need_id, actor):
        """Offers on a need: all for its enterprise and staff, a bank's own for a bank."""
        return {"items": [offer_json(o) for o in _docking_of_need(need_id, actor, "offers")]}

    @blp.doc(security=BEARER)
    @blp.arguments(OfferRequest)
    @blp.response(201, DockingOfferOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, need_id, actor):
        """The actor's bank offers a loan on the need (claiming it first when it has not)."""
        offer = docking.make_offer(db.session, actor, need_id, data["amount"], data["annual_rate"],
                                   data["term_months"], utcnow(), product_id=data["product_id"],
                                   conditions=data["conditions"])
        db.session.commit()
        quick_drain()
        return offer_json(offer)


def _offer_action(name: str, fn, role: Role):
    @blp.route(f"/offers/<int:offer_id>/{name}", endpoint=f"offer_{name}", methods=["POST"])
    @blp.doc(security=BEARER)
    @blp.response(200, DockingOfferOut)
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


def _page(args: dict, actor, model, status_cls) -> dict:
    page, per_page = args["page"], args["per_page"]
    status = status_cls(args["status"]) if args["status"] else None
    total, items = docking.docking_records(db.session, actor, model, status=status, need_id=args["need_id"],
                                           offset=(page - 1) * per_page, limit=per_page)
    to_json = claim_json if model is Claim else offer_json
    return {"total": total, "page": page, "per_page": per_page, "items": [to_json(x) for x in items]}


@blp.route("/docking/claims")
@blp.doc(security=BEARER)
@blp.arguments(DockingClaimQuery, location="query")
@blp.response(200, DockingClaimPage)
@api_user()
def docking_claims(args, actor):
    """Docking records (claims: interest → meeting → offer → accepted / declined / withdrawn) across needs, newest
    first, for polling: a bank's own, those on an enterprise's needs, all for staff; filter by `status`,
    `need_id`."""
    return _page(args, actor, Claim, ClaimStatus)


@blp.route("/docking/offers")
@blp.doc(security=BEARER)
@blp.arguments(DockingOfferQuery, location="query")
@blp.response(200, DockingOfferPage)
@api_user()
def docking_offers(args, actor):
    """Offers across needs, newest first: a bank's own, those an enterprise received, all for staff; filter by
    `status`, `need_id`."""
    return _page(args, actor, Offer, OfferStatus)


@blp.route("/bulletins")
@blp.response(200, BulletinList)
def bulletins():
    """Published editions of the financing-needs bulletin, newest first (public, no token)."""
    rows = db.session.scalars(select(Bulletin).order_by(Bulletin.number.desc())).all()
    return {"items": [bulletin_json(b) for b in rows]}


@blp.route("/bulletins/<int:number>")
@blp.response(200, BulletinDetailOut)
def bulletin_one(number):
    """One edition with the needs it lists, as they were when published (public, no token)."""
    return bulletin_json(get_bulletin(db.session, number), detail=True)
