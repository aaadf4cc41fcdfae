"""JSON API of the financing-needs database: needs, matches, loan products, claims (interest), meetings and offers,
a bank's or an enterprise's docking records across needs, and the public bulletins. The bodies are the schemas of
needs/schemas.py; write operations commit through market.work.commit_or_rollback."""

from __future__ import annotations

from datetime import UTC

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from market.accounts.models import Role
from market.api.auth import api_user
from market.areas import collect
from market.db import db, utcnow
from market.errors import NotFound
from market.needs import browse, docking, matching, service
from market.needs.bulletin import get_bulletin
from market.needs.indexing import get_backend, quick_drain
from market.needs.models import PUBLIC_STATUSES, Bulletin, Claim, ClaimStatus, LoanProduct, Need, Offer, OfferStatus
from market.needs.schemas import (
    Body,
    BulletinDetailOut,
    BulletinList,
    ClaimRequest,
    DockingClaimList,
    DockingClaimOut,
    DockingClaimPage,
    DockingClaimQuery,
    DockingOfferList,
    DockingOfferOut,
    DockingOfferPage,
    DockingOfferQuery,
    LoanProductList,
    LoanProductOut,
    LoanProductQuery,
    MatchList,
    MeetingRequest,
    NeedDetailList,
    NeedDetailOut,
    NeedMatches,
    NeedPage,
    NeedQuery,
    NeedRequest,
    OfferRequest,
    ProductRequest,
    ReviewQueueOut,
    ReviewRequest,
)
from market.security import require
from market.work import commit_or_rollback

blp = Blueprint("needs_api", __name__, url_prefix="/api/v1", description="Financing needs, matching and docking")

# One need: its own details and what higher areas add (the `need_details` contributions, read when the API is
# registered: market/needs/area.py imports this module only then).
DETAILS = collect("need_details")
NeedOneOut = NeedDetailOut.from_dict({name: field for name, field, _read in DETAILS}, name="NeedOneOut")


def _need_input(data: dict) -> service.NeedInput:
    return service.NeedInput(
        title=data["title"], amount=data["amount"], term_months=data["term_months"], purpose=data["purpose"],
        max_rate=data["max_rate"], asset_ids=data["asset_ids"], tangible_collateral=data["tangible_collateral"],
        tangible_value=data["tangible_value"], preferred_bank_ids=data["preferred_bank_ids"])


@blp.route("/needs")
class Needs(MethodView):
    @blp.arguments(NeedQuery, location="query")
    @blp.response(200, NeedPage)
    @api_user()
    def get(self, args, actor):
        """Published needs (and needs in talks) with filters and facet counts."""
        page, per_page = args.pop("page"), args.pop("per_page")
        return browse.search_needs(db.session, get_backend(), args, page=page, per_page=per_page, catch_up=True)

    @blp.arguments(NeedRequest)
    @blp.response(201, NeedDetailOut)
    @api_user(Role.ENTERPRISE, scope="write")
    def post(self, data, actor):
        """Post a need of the actor's enterprise (a draft, or submitted for review with `submit`)."""
        return commit_or_rollback(lambda: service.create_need(db.session, actor, _need_input(data), utcnow(),
                                                              submit=data["submit"]))


@blp.route("/needs/mine")
@blp.response(200, NeedDetailList)
@api_user(Role.ENTERPRISE)
def my_needs(actor):
    """Every need of the actor's enterprise, in any state, newest first."""
    return {"items": service.needs_of(db.session, actor)}


@blp.route("/needs/review-queue")
@blp.response(200, ReviewQueueOut)
@api_user(Role.STAFF)
def review_queue(actor):
    """Staff: needs waiting for review, and published needs escalated because no bank answered in time."""
    return {"submitted": service.review_queue(db.session), "escalated": docking.escalated_needs(db.session)}


@blp.route("/needs/<int:need_id>")
class NeedOne(MethodView):
    @blp.response(200, NeedOneOut)
    @api_user()
    def get(self, need_id, actor):
        """One need; unpublished needs of others are 404. `loan` (post-loan maintenance) is the loan signed from the
        accepted offer, shown to the enterprise, the lending bank and staff: status, outstanding principal,
        overdue amount, repayments and watch flags."""
        need = service.visible_need(db.session, actor, need_id)
        today = utcnow().date()
        return Body(need, **{name: read(db.session, actor, need, today) for name, _field, read in DETAILS})

    @blp.arguments(NeedRequest)
    @blp.response(200, NeedDetailOut)
    @api_user(Role.ENTERPRISE, scope="write")
    def put(self, data, need_id, actor):
        """Change a draft or rejected need (submit again with `submit`)."""
        def save():
            need = service.update_need(db.session, actor, need_id, _need_input(data), utcnow())
            if data["submit"]:
                service.submit_need(db.session, actor, need_id, utcnow())
            return need

        return commit_or_rollback(save)


def _need_action(name: str, fn, role: Role):
    @blp.route(f"/needs/<int:need_id>/{name}", endpoint=f"need_{name}", methods=["POST"])
    @blp.response(200, NeedDetailOut)
    @api_user(role, scope="write")
    def action(need_id, actor):
        need = commit_or_rollback(lambda: fn(db.session, actor, need_id, utcnow()))
        quick_drain()
        return need

    action.__doc__ = f"{name.capitalize()} the need."
    return action


_need_action("submit", service.submit_need, Role.ENTERPRISE)
_need_action("withdraw", service.withdraw_need, Role.ENTERPRISE)


@blp.route("/needs/<int:need_id>/review", methods=["POST"])
@blp.arguments(ReviewRequest)
@blp.response(200, NeedDetailOut)
@api_user(Role.STAFF, scope="write")
def review(data, need_id, actor):
    """Staff publish (every checklist item true) or reject with a reason."""
    need = commit_or_rollback(lambda: service.review_need(db.session, actor, need_id, data["approve"],
                                                          data["checklist"], data["reason"], utcnow()))
    quick_drain()
    return need


@blp.route("/needs/<int:need_id>/matches")
@blp.response(200, NeedMatches)
@api_user()
def need_matches(need_id, actor):
    """Loan products ranked for one need, each with its score and reasons (a bank sees its own products)."""
    need = service.visible_need(db.session, actor, need_id)
    bank_id = actor.organisation_id if actor.role is Role.BANK else None
    products = docking.active_products(db.session, bank_id)
    return {"need_id": need.id, "items": matching.rank_products(need, products)}


@blp.route("/matches")
@blp.response(200, MatchList)
@api_user(Role.BANK)
def bank_matches(actor):
    """Published needs ranked for the actor's bank, each with its best product, score and reasons."""
    products = docking.active_products(db.session, actor.organisation_id)
    needs = db.session.scalars(select(Need).options(selectinload(Need.preferred))
                               .where(Need.status.in_(PUBLIC_STATUSES))).all()
    return {"items": matching.rank_needs(needs, products)}


@blp.route("/products")
class Products(MethodView):
    @blp.arguments(LoanProductQuery, location="query")
    @blp.response(200, LoanProductList)
    @api_user()
    def get(self, args, actor):
        """Active loan products of every bank; with `mine=true`, every product of the actor's bank (inactive ones
        included)."""
        if not args["mine"]:
            return {"items": docking.active_products(db.session)}
        require(actor, Role.BANK, verified=False)
        return {"items": docking.bank_products(db.session, actor.organisation_id)}

    @blp.arguments(ProductRequest)
    @blp.response(201, LoanProductOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, actor):
        """Publish a loan product of the actor's bank."""
        return commit_or_rollback(lambda: docking.save_product(db.session, actor, docking.ProductInput(**data),
                                                               utcnow()))


@blp.route("/products/<int:product_id>")
class ProductOne(MethodView):
    @blp.response(200, LoanProductOut)
    @api_user()
    def get(self, product_id, actor):
        """One active loan product (the bank that owns it also sees it when inactive)."""
        product = db.session.get(LoanProduct, product_id)
        if product is None or not (product.active or product.bank_org_id == actor.organisation_id):
            raise NotFound("This loan product does not exist.")
        return product

    @blp.arguments(ProductRequest)
    @blp.response(200, LoanProductOut)
    @api_user(Role.BANK, scope="write")
    def put(self, data, product_id, actor):
        """Change a loan product of the actor's bank (the whole product, as when publishing it); 403 for another
        bank's product."""
        return commit_or_rollback(lambda: docking.save_product(db.session, actor, docking.ProductInput(**data),
                                                               utcnow(), product_id=product_id))


def _product_switch(name: str, active: bool):
    @blp.route(f"/products/<int:product_id>/{name}", endpoint=f"product_{name}", methods=["POST"])
    @blp.response(200, LoanProductOut)
    @api_user(Role.BANK, scope="write")
    def action(product_id, actor):
        return commit_or_rollback(lambda: docking.set_product_active(db.session, actor, product_id, active,
                                                                     utcnow()))

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
    @blp.response(200, DockingClaimList)
    @api_user()
    def get(self, need_id, actor):
        """Docking records of a need: all for its enterprise and staff, a bank's own for a bank."""
        return {"items": _docking_of_need(need_id, actor, "claims")}

    @blp.arguments(ClaimRequest)
    @blp.response(201, DockingClaimOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, need_id, actor):
        """The actor's bank declares interest in a published need."""
        claim = commit_or_rollback(lambda: docking.claim_need(db.session, actor, need_id, utcnow(),
                                                              product_id=data["product_id"], note=data["note"]))
        quick_drain()
        return claim


@blp.route("/needs/<int:need_id>/meeting", methods=["POST"])
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
    return commit_or_rollback(lambda: docking.schedule_meeting(db.session, actor, need_id, at, utcnow()))


@blp.route("/needs/<int:need_id>/offers")
class Offers(MethodView):
    @blp.response(200, DockingOfferList)
    @api_user()
    def get(self, need_id, actor):
        """Offers on a need: all for its enterprise and staff, a bank's own for a bank."""
        return {"items": _docking_of_need(need_id, actor, "offers")}

    @blp.arguments(OfferRequest)
    @blp.response(201, DockingOfferOut)
    @api_user(Role.BANK, scope="write")
    def post(self, data, need_id, actor):
        """The actor's bank offers a loan on the need (claiming it first when it has not)."""
        offer = commit_or_rollback(lambda: docking.make_offer(
            db.session, actor, need_id, data["amount"], data["annual_rate"], data["term_months"], utcnow(),
            product_id=data["product_id"], conditions=data["conditions"]))
        quick_drain()
        return offer


def _offer_action(name: str, fn, role: Role):
    @blp.route(f"/offers/<int:offer_id>/{name}", endpoint=f"offer_{name}", methods=["POST"])
    @blp.response(200, DockingOfferOut)
    @api_user(role, scope="write")
    def action(offer_id, actor):
        return commit_or_rollback(lambda: fn(db.session, actor, offer_id, utcnow()))

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
    return {"total": total, "page": page, "per_page": per_page, "items": items}


@blp.route("/docking/claims")
@blp.arguments(DockingClaimQuery, location="query")
@blp.response(200, DockingClaimPage)
@api_user()
def docking_claims(args, actor):
    """Docking records (claims: interest → meeting → offer → accepted / declined / withdrawn) across needs, newest
    first, for polling: a bank's own, those on an enterprise's needs, all for staff; filter by `status`,
    `need_id`."""
    return _page(args, actor, Claim, ClaimStatus)


@blp.route("/docking/offers")
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
    return {"items": rows}


@blp.route("/bulletins/<int:number>")
@blp.response(200, BulletinDetailOut)
def bulletin_one(number):
    """One edition with the needs it lists, as they were when published (public, no token)."""
    return get_bulletin(db.session, number)
