"""Pages for the listing's life: staff console, listing a defaulted loan, review with the checklist, objections,
cancel, re-auction, fixed-price sale, the winner's payment and the end of a disposal; owners' voluntary listings;
objections and the bidder's own deposit ledger. Thin: each POST validates, calls one service and commits once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_user_timezone, to_utc
from flask_login import current_user, login_required
from sqlalchemy import select

from market.accounts.models import Role
from market.bounded import AMOUNT, OutOfBounds, parse
from market.db import db, utcnow
from market.exchange import disposal, listings, rules
from market.exchange import preemption as holders
from market.exchange.deposits import deposits_of, ledger_of
from market.exchange.forms import (
    ActionForm,
    HolderForm,
    HolderNoticeForm,
    ListingForm,
    NoteForm,
    ObjectionForm,
    ResolveForm,
    ReviewForm,
    TermsForm,
)
from market.exchange.models import (
    Deposit,
    Listing,
    ListingKind,
    ListingSource,
    ListingStatus,
    NoticeMethod,
    Objection,
    PreemptionKind,
    PreemptionRight,
)
from market.exchange.settlement import end_loan_disposal, outstanding_principal, record_payment
from market.exchange.views import exchange_bp, loan_visible
from market.loans.schedule import outstanding_principal as loan_outstanding
from market.security import roles_required
from market.valuations.service import latest_valuation
from market.work import commit_or_flash


def _listing(listing_id: int) -> Listing:
    return db.get_or_404(Listing, listing_id)


TIMES = ("notice_starts_at", "bidding_starts_at", "ends_at")


def _beijing(value):
    """A stored naive-UTC time as the naive Beijing time a datetime-local field shows (the inverse of to_utc)."""
    return to_user_timezone(value).replace(tzinfo=None)


def _times(form) -> dict:
    """The form's Beijing-time fields as naive UTC for the services (flask_babel.to_utc, as the meeting form)."""
    return {key: to_utc(getattr(form, key).data) for key in TIMES}


@exchange_bp.get("/staff/")
@roles_required(Role.STAFF)
def staff_console():
    rows = db.session.scalars(select(Listing).order_by(Listing.id.desc()).limit(300)).all()
    by_status: dict[str, list[Listing]] = {}
    for row in rows:
        by_status.setdefault(row.status.value, []).append(row)
    return render_template("exchange/staff_console.html", by_status=by_status,
                           to_list=disposal.defaulted_loans_to_list(db.session),
                           objections=disposal.open_objections(db.session))


@exchange_bp.route("/staff/loans/<int:loan_id>/list", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.BANK)
def list_loan(loan_id: int):
    """"List for disposal": one listing per pledged asset, valuations from the valuations area when in force."""
    now = utcnow()
    waiting = dict(disposal.defaulted_loans_to_list(db.session)).items()
    entry = next(((loan, assets) for loan, assets in waiting if loan.id == loan_id), None)
    if entry is None:
        abort(404)
    loan, assets = entry
    if current_user.role is Role.BANK and current_user.organisation_id != loan.bank_org_id:
        abort(403)
    found = {a.id: latest_valuation(db.session, a.id, now.date()) for a in assets}
    form = ActionForm()
    if form.validate_on_submit():
        valuations = {}
        for asset in assets:
            raw = (request.form.get(f"valuation_{asset.id}") or "").strip()
            if raw:
                try:
                    valuations[asset.id] = AMOUNT.check(parse(raw))
                except OutOfBounds as exc:
                    flash(f'{_("Enter an amount in yuan with at most two decimals.")} {exc.localized()}', "error")
                    return redirect(request.url)
        ok, made = commit_or_flash(
            lambda: disposal.list_loan_for_disposal(db.session, current_user, loan_id, now, valuations),
            _("Listed for disposal; the lots await review."))
        if ok:
            return redirect(url_for("exchange.manage", listing_id=made[0].id) if current_user.role is Role.STAFF
                            else url_for("exchange.listings"))
    return render_template("exchange/list_loan.html", loan=loan, assets=assets, found=found, form=form,
                           outstanding=loan_outstanding(loan))


@exchange_bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE, Role.STAFF)
def new_listing():
    """An owner's voluntary transfer or licence (or staff on an owner's behalf): a draft, then submitted."""
    now = utcnow()
    form = ListingForm()
    if request.method == "GET":
        asset_id = request.args.get("asset_id", type=int)
        if asset_id:
            form.asset_id.data = asset_id
        for key, value in disposal.default_terms(Decimal("1000000"), now).items():
            if key in TIMES:
                getattr(form, key).data = _beijing(value)
    if form.validate_on_submit():
        def create():
            listing = listings.create_listing(
                db.session, current_user, asset_id=form.asset_id.data, source=ListingSource.VOLUNTARY,
                valuation=form.valuation.data, starting_price=form.starting_price.data, increment=form.increment.data,
                deposit_amount=form.deposit_amount.data, now=now, kind=ListingKind(form.kind.data),
                title=form.title.data or None, description=form.description.data or None, licence=form.licence(),
                **_times(form))
            listings.submit_listing(db.session, current_user, listing, now)
            return listing

        ok, made = commit_or_flash(create, _("Submitted for review by the exchange."))
        if ok:
            return redirect(url_for("exchange.manage", listing_id=made.id))
    return render_template("exchange/new.html", form=form,
                           assets=disposal.owner_assets(db.session, current_user))


@exchange_bp.get("/staff/<int:listing_id>")
@login_required
def manage(listing_id: int):
    listing = _listing(listing_id)
    if current_user.role is not Role.STAFF and current_user.id != listing.created_by_id:
        abort(403)
    review = ReviewForm(data=dict(listing.checklist or {}))
    terms = TermsForm()
    follow_up = db.session.scalar(select(Listing).where(Listing.previous_id == listing.id))
    if listing.status in (ListingStatus.FAILED, ListingStatus.UNPAID) and listing.round == 1 and follow_up is None:
        low, _high = rules.reauction_price_bounds(listing.starting_price)
        now = utcnow()
        start = now.replace(minute=0, second=0, microsecond=0) + rules.EXTENSION * 12
        terms = TermsForm(data={"starting_price": low, "increment": listing.increment,
                                "deposit_amount": (low / 10).quantize(rules.CENT), "notice_starts_at": _beijing(start),
                                "bidding_starts_at": _beijing(start + timedelta(days=rules.REAUCTION_NOTICE_DAYS)),
                                "ends_at": _beijing(start + timedelta(days=rules.REAUCTION_NOTICE_DAYS + 1))})
    deposits = deposits_of(db.session, listing.id)
    return render_template("exchange/manage.html", listing=listing, review=review, terms=terms,
                           loan_visible=loan_visible(listing), action=ActionForm(), note=NoteForm(),
                           resolve=ResolveForm(), follow_up=follow_up,
                           holders=holders.holders_of(db.session, listing.id),
                           holder_notices=holders.notices_of(db.session, listing.id), holder_form=HolderForm(),
                           notice_form=HolderNoticeForm(told_at=_beijing(utcnow().replace(second=0, microsecond=0))),
                           objections=disposal.objections_of(db.session, listing.id), deposits=deposits,
                           checklist=listings.CHECKLIST, outstanding=outstanding_principal(db.session, listing))


def _back(listing_id: int):
    return redirect(url_for("exchange.manage", listing_id=listing_id))


@exchange_bp.post("/staff/<int:listing_id>/submit")
@login_required
def submit(listing_id: int):
    listing = _listing(listing_id)
    if ActionForm().validate_on_submit():
        commit_or_flash(lambda: listings.submit_listing(db.session, current_user, listing, utcnow()),
                        _("Submitted for review by the exchange."))
    return _back(listing_id)


@exchange_bp.post("/staff/<int:listing_id>/review")
@roles_required(Role.STAFF)
def review(listing_id: int):
    listing = _listing(listing_id)
    form = ReviewForm()
    if form.validate_on_submit():
        checklist = {item: bool(getattr(form, item).data) for item in listings.CHECKLIST}
        approve = form.decision.data == "approve"
        commit_or_flash(lambda: listings.review_listing(db.session, current_user, listing, checklist, approve,
                                                        utcnow(), form.note.data or None),
                        _("The lot is announced.") if approve else _("Returned to the author."))
    return _back(listing_id)


@exchange_bp.post("/staff/<int:listing_id>/preemption")
@roles_required(Role.STAFF)
def register_holder(listing_id: int):
    listing = _listing(listing_id)
    form = HolderForm()
    if form.validate_on_submit():
        db.session.commit()  # the lot's lock comes first in the registering transaction
        commit_or_flash(lambda: holders.register_holder(db.session, current_user, listing, name=form.name.data,
                                                        kind=PreemptionKind(form.kind.data),
                                                        user_id=form.user_id.data, now=utcnow()),
                        _("The pre-emption holder is registered; record when they are told."))
    else:
        flash(_("Give the holder's name and the kind of right."), "error")
    return _back(listing_id)


@exchange_bp.post("/staff/preemption/<int:holder_id>/notice")
@roles_required(Role.STAFF)
def record_holder_notice(holder_id: int):
    holder = db.get_or_404(PreemptionRight, holder_id)
    form = HolderNoticeForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: holders.record_notice(db.session, current_user, holder_id,
                                                      told_at=to_utc(form.told_at.data),
                                                      method=NoticeMethod(form.method.data), note=form.note.data,
                                                      now=utcnow()),
                        _("The notice to the holder is recorded."))
    else:
        flash(_("Give when and how the holder was told."), "error")
    return _back(holder.listing_id)


@exchange_bp.post("/staff/<int:listing_id>/cancel")
@roles_required(Role.STAFF)
def cancel(listing_id: int):
    listing = _listing(listing_id)
    form = NoteForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: listings.cancel_listing(db.session, current_user, listing, utcnow(),
                                                        form.note.data or None),
                        _("The lot was cancelled; deposits were refunded."))
    return _back(listing_id)


@exchange_bp.post("/staff/<int:listing_id>/reauction")
@roles_required(Role.STAFF)
def reauction(listing_id: int):
    listing = _listing(listing_id)
    form = TermsForm()
    if form.validate_on_submit():
        ok, made = commit_or_flash(lambda: listings.create_reauction(
            db.session, current_user, listing, starting_price=form.starting_price.data,
            deposit_amount=form.deposit_amount.data, increment=form.increment.data, now=utcnow(),
            **_times(form)), _("The re-auction is announced."))
        if ok:
            return _back(made.id)
    else:
        flash(_("Check the terms of the re-auction."), "error")
    return _back(listing_id)


@exchange_bp.post("/staff/<int:listing_id>/fixed-price")
@roles_required(Role.STAFF)
def fixed_price(listing_id: int):
    listing = _listing(listing_id)
    if ActionForm().validate_on_submit():
        ok, made = commit_or_flash(lambda: listings.offer_fixed_price(db.session, current_user, listing, utcnow()),
                                   _("The lot is offered at a fixed price for 60 days."))
        if ok:
            return _back(made.id)
    return _back(listing_id)


@exchange_bp.post("/staff/<int:listing_id>/payment")
@login_required
def payment(listing_id: int):
    listing = _listing(listing_id)
    if ActionForm().validate_on_submit():
        commit_or_flash(lambda: record_payment(db.session, current_user, listing, utcnow()),
                        _("Payment recorded; the transfer is registered and the proceeds go to the seller."))
    if current_user.role is Role.STAFF:
        return _back(listing_id)
    return redirect(url_for("exchange.auction", listing_id=listing_id))


@exchange_bp.post("/staff/loans/<int:loan_id>/end")
@roles_required(Role.STAFF)
def end_disposal(loan_id: int):
    if ActionForm().validate_on_submit():
        commit_or_flash(lambda: end_loan_disposal(db.session, current_user, loan_id, utcnow()),
                        _("The disposal is ended; the loss went to the compensation claim."))
    return redirect(request.referrer or url_for("exchange.staff_console"))


@exchange_bp.post("/staff/objections/<int:objection_id>")
@roles_required(Role.STAFF)
def resolve(objection_id: int):
    objection = db.get_or_404(Objection, objection_id)
    form = ResolveForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: disposal.resolve_objection(db.session, current_user, objection_id,
                                                           form.decision.data == "uphold", form.note.data or None,
                                                           utcnow()),
                        _("The objection was decided."))
    return _back(objection.listing_id)


@exchange_bp.post("/<int:listing_id>/objection")
@login_required
def object_to(listing_id: int):
    listing = _listing(listing_id)
    if listing.status in (ListingStatus.DRAFT, ListingStatus.UNDER_REVIEW):
        abort(404)
    form = ObjectionForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: disposal.file_objection(db.session, current_user, listing, form.reason.data,
                                                        utcnow()),
                        _("Your objection was recorded; the exchange will decide on it."))
    else:
        flash(_("Give the reason for the objection."), "error")
    return redirect(url_for("exchange.auction", listing_id=listing_id))


@exchange_bp.get("/my")
@login_required
def my_deposits():
    """The bidder's own deposit ledger over all lots (paid, refunded at the close, applied or forfeited)."""
    entries = ledger_of(db.session, current_user)
    lots = {x.id: x for x in db.session.scalars(select(Listing).where(
        Listing.id.in_({e.listing_id for e in entries})))} if entries else {}
    deposits = db.session.scalars(select(Deposit).where(Deposit.bidder_id == current_user.id)
                                  .order_by(Deposit.id.desc())).all()
    return render_template("exchange/my.html", entries=entries, lots=lots, deposits=deposits)
