"""JSON API of the exchange's disposal desk (staff, and a listing's author): defaulted loans to list, listings in
any state, pre-emption holders, review with the checklist, cancel, re-auction, fixed-price sale, objections, and the
end of a loan's disposal. Routes on the exchange API's blueprint."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from market.accounts.models import Role
from market.api.auth import api_user
from market.db import db, utcnow
from market.errors import InvalidInput, NotFound
from market.exchange import disposal
from market.exchange import preemption as holders
from market.exchange.api import blp
from market.exchange.desk_schemas import (
    DeskListingList,
    DeskListingOut,
    DeskListingPage,
    DeskListingQuery,
    EndOut,
    HolderIn,
    HolderNoticeIn,
    HolderOut,
    ListingIn,
    ListLoanIn,
    NoteIn,
    ObjectionList,
    ObjectionQuery,
    ResolveIn,
    ReviewIn,
    TermsIn,
    WaitingLoanList,
)
from market.exchange.listings import (
    cancel_listing,
    create_listing,
    create_reauction,
    get_listing,
    offer_fixed_price,
    review_listing,
    submit_listing,
)
from market.exchange.models import (
    Listing,
    ListingKind,
    ListingSource,
    ListingStatus,
    NoticeMethod,
    Objection,
    ObjectionStatus,
    PreemptionKind,
    PreemptionRight,
)
from market.exchange.schemas import ObjectionOut
from market.exchange.settlement import end_loan_disposal
from market.loans.access import get_loan
from market.loans.claims import loan_claim
from market.loans.models import Loan
from market.work import commit_or_rollback


def _staff_or_author(actor, listing: Listing) -> None:
    if actor.role is not Role.STAFF and actor.id != listing.created_by_id:
        raise NotFound("This listing does not exist.")


def _decide(actor, listing_id: int, decision) -> Listing:
    """One desk decision on a listing (staff, or its author where the endpoint lets authors in): `decision(listing)`
    runs as one unit of work; the answer is the listing after it, or the new listing it made (DeskListingOut)."""
    listing = get_listing(db.session, listing_id)
    _staff_or_author(actor, listing)
    return commit_or_rollback(lambda: decision(listing)) or listing


def _waiting(actor) -> list[Loan]:
    return [loan for loan, _assets in disposal.defaulted_loans_to_list(db.session)
            if actor.role is not Role.BANK or loan.bank_org_id == actor.organisation_id]


@blp.route("/disposal/loans")
class DisposalQueue(MethodView):
    @blp.response(200, WaitingLoanList)
    @api_user(Role.STAFF, Role.BANK)
    def get(self, actor):
        """Defaulted loans whose pledged assets wait to be listed for disposal (staff: all; a bank: its own), with
        the valuation report in force for each asset when there is one."""
        return {"items": _waiting(actor)}


@blp.route("/disposal/loans/<int:loan_id>/listings")
class DisposalListLoan(MethodView):
    @blp.arguments(ListLoanIn)
    @blp.response(201, DeskListingList)
    @api_user(Role.STAFF, Role.BANK, scope="write")
    def post(self, data, loan_id, actor):
        """List a defaulted loan's pledges for disposal (staff, or the lending bank), as the web's "list for
        disposal": one auction per actively pledged asset not yet listed, at the rules' default terms, submitted for
        staff review; the loan moves to in_disposal. An asset's valuation is its report in force, else the one given
        here (422 when neither). 404 unknown loan, 403 another bank's loan, 409 not defaulted or all listed."""
        valuations = {v["asset_id"]: v["amount"] for v in data["valuations"]}

        def list_it():
            loan = get_loan(db.session, loan_id)
            pledged = {p.asset_id for p in loan.pledges if p.active}
            stray = sorted(set(valuations) - pledged)
            if stray:
                raise InvalidInput("Asset %(asset)s is not pledged for this loan.", asset=stray[0])
            return disposal.list_loan_for_disposal(db.session, actor, loan_id, utcnow(), valuations)

        return {"items": commit_or_rollback(list_it)}


@blp.route("/disposal/loans/<int:loan_id>/end")
class DisposalEnd(MethodView):
    @blp.response(200, EndOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, loan_id, actor):
        """End a loan's disposal when none of its lots is open any more (staff): the compensation claim is assembled
        with what the settled lots recovered. 409 while a lot is open or when the claim cannot be assembled."""
        outcome = commit_or_rollback(lambda: end_loan_disposal(db.session, actor, loan_id, utcnow()))
        claim = loan_claim(db.session, loan_id)
        return {"loan_id": loan_id, "loan_status": get_loan(db.session, loan_id).status.value,
                "claim_id": claim.id if claim else None, "outcome": outcome}


@blp.route("/disposal/listings")
class DeskListings(MethodView):
    @blp.arguments(DeskListingQuery, location="query")
    @blp.response(200, DeskListingPage)
    @api_user(Role.STAFF)
    def get(self, args, actor):
        """Every listing in any state (staff), newest first; filter by `status` or `loan_id`."""
        query = select(Listing).order_by(Listing.id.desc())
        if args.get("status"):
            query = query.where(Listing.status == ListingStatus(args["status"]))
        if args.get("loan_id") is not None:
            query = query.where(Listing.loan_id == args["loan_id"])
        items = db.session.scalars(query.limit(300)).all()
        return {"total": len(items), "items": items}

    @blp.arguments(ListingIn)
    @blp.response(201, DeskListingOut)
    @api_user(Role.ENTERPRISE, Role.STAFF, scope="write")
    def post(self, data, actor):
        """An owner's voluntary transfer or licence of its own asset (or staff on the owner's behalf), as the web's
        "new listing": created and submitted for staff review at once. The terms must follow the rules (starting
        price ≥ 70 % of the valuation, deposit 5–20 %, notice ≥ 30 days, bidding ≥ 24 h), else 422."""
        def create():
            listing = create_listing(
                db.session, actor, source=ListingSource.VOLUNTARY, kind=ListingKind(data.pop("kind")), now=utcnow(),
                **data)  # licence terms in data["licence"]
            submit_listing(db.session, actor, listing, utcnow())
            return listing

        return commit_or_rollback(create)


@blp.route("/disposal/listings/<int:listing_id>")
class DeskListing(MethodView):
    @blp.response(200, DeskListingOut)
    @api_user()
    def get(self, listing_id, actor):
        """One listing as the desk sees it (staff, or its author): checklist, review note, objections, deposits."""
        listing = get_listing(db.session, listing_id)
        _staff_or_author(actor, listing)
        return listing


@blp.route("/disposal/listings/<int:listing_id>/preemption")
class DeskHolders(MethodView):
    @blp.arguments(HolderIn)
    @blp.response(201, HolderOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, listing_id, actor):
        """Register a known pre-emption holder (co-owner, exclusive licensee) on a lot not yet announced; with
        `user_id` their bidder account wins a tie at equal price."""
        listing = get_listing(db.session, listing_id)
        db.session.commit()  # the lot's lock comes first in the registering transaction
        return commit_or_rollback(lambda: holders.register_holder(
            db.session, actor, listing, name=data["name"], kind=PreemptionKind(data["kind"]), user_id=data["user_id"],
            now=utcnow()))


@blp.route("/disposal/preemption/<int:holder_id>/notices")
class DeskHolderNotices(MethodView):
    @blp.arguments(HolderNoticeIn)
    @blp.response(201, HolderOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, holder_id, actor):
        """Record that a holder was told of the coming disposal: when (`told_at`, not in the future) and how. The lot
        is announced only when every holder was told at least three days before."""
        notice = commit_or_rollback(lambda: holders.record_notice(
            db.session, actor, holder_id, told_at=data["told_at"], method=NoticeMethod(data["method"]),
            note=data["note"], now=utcnow()))
        return db.session.get(PreemptionRight, notice.preemption_id)


@blp.route("/disposal/listings/<int:listing_id>/submit")
class DeskSubmit(MethodView):
    @blp.response(200, DeskListingOut)
    @api_user(scope="write")
    def post(self, listing_id, actor):
        """Submit a draft (again) for review: its author or staff."""
        return _decide(actor, listing_id, lambda listing: submit_listing(db.session, actor, listing, utcnow()))


@blp.route("/disposal/listings/<int:listing_id>/review")
class DeskReview(MethodView):
    @blp.arguments(ReviewIn)
    @blp.response(200, DeskListingOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, listing_id, actor):
        """Review a lot under review (staff): approving needs every checklist item confirmed and valid terms, and
        announces the lot (parties and pre-emption holders are told); "return" sends it back to its author."""
        return _decide(actor, listing_id, lambda listing: review_listing(
            db.session, actor, listing, data["checklist"], data["decision"] == "approve", utcnow(), data["note"]))


@blp.route("/disposal/listings/<int:listing_id>/cancel")
class DeskCancel(MethodView):
    @blp.arguments(NoteIn)
    @blp.response(200, DeskListingOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, listing_id, actor):
        """Cancel a lot that is not closed (staff); held deposits are refunded."""
        return _decide(actor, listing_id, lambda listing: cancel_listing(db.session, actor, listing, utcnow(),
                                                                         data["note"]))


@blp.route("/disposal/listings/<int:listing_id>/reauction")
class DeskReauction(MethodView):
    @blp.arguments(TermsIn)
    @blp.response(201, DeskListingOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, listing_id, actor):
        """Schedule the re-auction of a failed or unpaid first auction (staff): within 30 days of its close, a
        starting price at most 20 % lower, a notice of at least 15 days; the new lot is announced."""
        return _decide(actor, listing_id, lambda failed: create_reauction(db.session, actor, failed, now=utcnow(),
                                                                          **data))


@blp.route("/disposal/listings/<int:listing_id>/fixed-price")
class DeskFixedPrice(MethodView):
    @blp.response(201, DeskListingOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, listing_id, actor):
        """Offer a failed re-auction's lot at a fixed price for 60 days (staff): the first buyer at the price wins."""
        return _decide(actor, listing_id, lambda failed: offer_fixed_price(db.session, actor, failed, utcnow()))


@blp.route("/disposal/objections")
class DeskObjections(MethodView):
    @blp.arguments(ObjectionQuery, location="query")
    @blp.response(200, ObjectionList)
    @api_user(Role.STAFF)
    def get(self, args, actor):
        """Objections (staff): the open ones by default, oldest first."""
        query = select(Objection).order_by(Objection.id)
        if args["status"] != "all":
            query = query.where(Objection.status == ObjectionStatus(args["status"]))
        return {"items": db.session.scalars(query.limit(500)).all()}


@blp.route("/disposal/objections/<int:objection_id>/resolve")
class DeskResolve(MethodView):
    @blp.arguments(ResolveIn)
    @blp.response(200, ObjectionOut)
    @api_user(Role.STAFF, scope="write")
    def post(self, data, objection_id, actor):
        """Decide an open objection (staff): upholding it cancels the lot (deposits refunded); dismissing lets the
        lot go on. The objector is told."""
        return commit_or_rollback(lambda: disposal.resolve_objection(
            db.session, actor, objection_id, data["decision"] == "uphold", data["note"], utcnow()))
