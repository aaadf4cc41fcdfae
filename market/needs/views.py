"""Pages of the financing-needs database: browse, post and fix needs, staff review, bank products, matching and
docking. Views validate a form, call one service, commit once."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_utc
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from market.accounts.forms import EmptyForm
from market.accounts.models import Organisation, OrgKind, Role
from market.areas import collect
from market.db import db, utcnow
from market.errors import DomainError
from market.formkit import flash_errors
from market.ip.finder import item_dict
from market.ip.models import IpKind
from market.needs import browse, docking, matching, picker, service
from market.needs.bulletin import bulletin_atom as atom_of
from market.needs.bulletin import bulletin_csv as csv_of
from market.needs.bulletin import get_bulletin
from market.needs.forms import (
    AcceptOfferForm,
    ClaimForm,
    MeetingForm,
    NeedForm,
    OfferForm,
    ProductForm,
    ReviewForm,
)
from market.needs.indexing import get_backend, quick_drain
from market.needs.labels import kind_label
from market.needs.models import Bulletin, LoanProduct, Need, Offer
from market.needs.rules import AMOUNT_BANDS, REVIEW_CHECKLIST
from market.paging import requested_page
from market.policy.plan import evaluate_plan
from market.policy.service import benchmark_on, policy_in_force
from market.reference.choices import industry_group_names
from market.reference.models import District, IndustryGroup
from market.security import roles_required
from market.work import commit_or_flash

needs_bp = Blueprint("needs", __name__, url_prefix="/needs")
# The bulletin is public, like the exchange's announcements.
bulletin_bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")


def _banks() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.BANK)
                                   .order_by(Organisation.name)))


def _picker(form: NeedForm, need: Need | None = None) -> picker.Picker:
    """The patent picker of the need form: the page and search asked for, the assets ticked so far."""
    form.preferred_bank_ids.choices = [(b.id, b.name) for b in _banks()]
    return picker.pick(db.session, current_user.organisation_id, need, request.values.get("picker_q", ""),
                       form.asset_ids.data or [], utcnow())


def _browsing_picker() -> bool:
    """A search or page turn of the picker posts the whole form back to be shown again, never saved."""
    return request.method == "POST" and "picker" in request.form


def _need_input(form: NeedForm) -> service.NeedInput:
    return service.NeedInput(
        title=form.title.data, amount=form.amount.data, term_months=form.term_months.data,
        purpose=form.purpose.data, max_rate=form.max_rate_pct.data,
        asset_ids=form.asset_ids.data or [], tangible_collateral=form.tangible_collateral.data,
        tangible_value=form.tangible_value.data, preferred_bank_ids=form.preferred_bank_ids.data or [],
    )


@needs_bp.route("/")
@login_required
def browse_page():
    filters = {k: request.args.get(k, "") for k in (*browse.FACETS, "q")}
    page = requested_page()
    result = browse.search_needs(db.session, get_backend(), filters, page=page, catch_up=True)
    districts = {d.code: d.name for d in db.session.scalars(select(District))}
    groups = {g.code: g for g in db.session.scalars(select(IndustryGroup))}
    return render_template("needs/browse.html", result=result, filters=filters, districts=districts, groups=groups,
                           page=result.page, pages=result.pages)


@needs_bp.route("/mine")
@roles_required(Role.ENTERPRISE)
def mine():
    needs = db.session.scalars(select(Need).where(Need.org_id == current_user.organisation_id)
                               .order_by(Need.id.desc())).all()
    return render_template("needs/mine.html", needs=needs)


@needs_bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def new():
    form = NeedForm()
    chooser = _picker(form)
    if not _browsing_picker() and form.validate_on_submit():
        ok, need = commit_or_flash(lambda: service.create_need(
            db.session, current_user, _need_input(form), utcnow(), submit=form.submit_now.data),
            _("Your financing need was saved."))
        if ok:
            return redirect(url_for("needs.detail", need_id=need.id))
    return render_template("needs/form.html", form=form, need=None, picker=chooser)


@needs_bp.route("/<int:need_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def edit(need_id: int):
    need = service.own_need(db.session, current_user, need_id)
    form = NeedForm(obj=need) if request.method == "GET" else NeedForm()
    if request.method == "GET":
        form.max_rate_pct.data = need.max_rate
        form.asset_ids.data = need.asset_ids
        form.preferred_bank_ids.data = need.preferred_bank_ids
    chooser = _picker(form, need)
    if not _browsing_picker() and form.validate_on_submit():
        def save():
            service.update_need(db.session, current_user, need.id, _need_input(form), utcnow())
            if form.submit_now.data:
                service.submit_need(db.session, current_user, need.id, utcnow())

        if commit_or_flash(save, _("Your financing need was saved."))[0]:
            return redirect(url_for("needs.detail", need_id=need.id))
    return render_template("needs/form.html", form=form, need=need, picker=chooser)


@needs_bp.route("/<int:need_id>")
@login_required
def detail(need_id: int):
    need = service.visible_need(db.session, current_user, need_id)
    today = utcnow().date()
    context = {"need": need, "empty": EmptyForm(), "checklist": REVIEW_CHECKLIST,
               "asset_rows": _asset_rows(need, today),
               "asset_columns": [(heading, template, values(db.session, current_user, need, today))
                                 for heading, template, values in collect("need_asset_columns")],
               "sections": [render(db.session, current_user, need, today)
                            for _position, render in sorted(collect("need_sections"), key=lambda s: s[0])]}
    if current_user.role is Role.BANK:
        products = docking.active_products(db.session, current_user.organisation_id)
        context.update(matches=matching.rank_products(need, products), products={p.id: p for p in products},
                       my_claim=next((c for c in need.claims if c.bank_org_id == current_user.organisation_id),
                                     None),
                       claim_form=ClaimForm(), meeting_form=MeetingForm(), offer_form=OfferForm(
                           amount=need.amount, term_months=need.term_months, annual_rate_pct=need.max_rate))
    elif current_user.role is Role.STAFF:
        context.update(review_form=ReviewForm())
    elif need.org_id == current_user.organisation_id:
        products = docking.active_products(db.session)
        context.update(matches=matching.rank_products(need, products)[:10],
                       products={p.id: p for p in products})
    return render_template("needs/detail.html", **context)


def _asset_rows(need: Need, today) -> list[dict]:
    """Each offered asset as the bank and the reviewing staff judge it: the patent's page, the remaining term, the
    legal status and the pledge state (the valuation in force is a column the valuing areas add)."""
    return [{"asset": na.asset, "item": item_dict(na.asset, today), "transferred": na.asset.owner_org_id != need.org_id}
            for na in need.assets]


def _post_need_action(need_id: int, action, message: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    if commit_or_flash(lambda: action(db.session, current_user, need_id, utcnow()), message)[0]:
        quick_drain()
    return redirect(url_for("needs.detail", need_id=need_id))


@needs_bp.route("/<int:need_id>/submit", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def submit(need_id: int):
    return _post_need_action(need_id, service.submit_need, _("Submitted for review by the exchange."))


@needs_bp.route("/<int:need_id>/withdraw", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def withdraw(need_id: int):
    return _post_need_action(need_id, service.withdraw_need, _("The need was withdrawn."))


@needs_bp.route("/review")
@roles_required(Role.STAFF)
def review_queue():
    return render_template("needs/review_queue.html", needs=service.review_queue(db.session),
                           escalated=docking.escalated_needs(db.session))


@needs_bp.route("/<int:need_id>/review", methods=["POST"])
@roles_required(Role.STAFF)
def review(need_id: int):
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    approve = request.form.get("decision") == "publish"
    ticks = {key: getattr(form, key).data for key, _label in REVIEW_CHECKLIST}
    ok, _need = commit_or_flash(
        lambda: service.review_need(db.session, current_user, need_id, approve, ticks, form.reason.data, utcnow()),
        _("The need was published.") if approve else _("The need was returned to the enterprise."))
    if ok:
        quick_drain()
    return redirect(url_for("needs.review_queue") if ok else url_for("needs.detail", need_id=need_id))


@needs_bp.route("/bank")
@roles_required(Role.BANK)
def bank_matches():
    products = docking.active_products(db.session, current_user.organisation_id)
    needs = db.session.scalars(select(Need).options(selectinload(Need.preferred))
                               .where(Need.status.in_(browse.PUBLIC_STATUSES))
                               .order_by(Need.published_at.desc())).all()
    offers = docking.offers_for_bank(db.session, current_user.organisation_id)
    return render_template("needs/bank.html", matches=matching.rank_needs(needs, products),
                           needs={n.id: n for n in needs}, products={p.id: p for p in products}, offers=offers,
                           offer_loans=docking.loan_ids_of_offers(db.session, offers),
                           claims=service.docked_with(db.session, current_user.organisation_id))


@needs_bp.route("/<int:need_id>/claim", methods=["POST"])
@roles_required(Role.BANK)
def claim(need_id: int):
    form = ClaimForm()
    if not form.validate_on_submit():
        abort(400)
    if commit_or_flash(lambda: docking.claim_need(db.session, current_user, need_id, utcnow(),
                                                  product_id=form.product_id.data, note=form.note.data),
                       _("Your bank's interest was sent to the enterprise."))[0]:
        quick_drain()
    return redirect(url_for("needs.detail", need_id=need_id))


@needs_bp.route("/<int:need_id>/meeting", methods=["POST"])
@roles_required(Role.BANK)
def meeting(need_id: int):
    form = MeetingForm()
    if not form.validate_on_submit():
        flash(_("Give a valid meeting time."), "error")
        return redirect(url_for("needs.detail", need_id=need_id))
    commit_or_flash(lambda: docking.schedule_meeting(db.session, current_user, need_id, to_utc(form.meeting_at.data),
                                                     utcnow()), _("The meeting was arranged."))
    return redirect(url_for("needs.detail", need_id=need_id))


@needs_bp.route("/<int:need_id>/offer", methods=["POST"])
@roles_required(Role.BANK)
def offer(need_id: int):
    form = OfferForm()
    if not form.validate_on_submit():
        flash_errors(form, _("Check the offer: amount, rate and term are required."))
        return redirect(url_for("needs.detail", need_id=need_id))
    if commit_or_flash(lambda: docking.make_offer(db.session, current_user, need_id, form.amount.data,
                                                  form.annual_rate_pct.data, form.term_months.data, utcnow(),
                                                  product_id=form.product_id.data, conditions=form.conditions.data),
                       _("Your offer was sent."))[0]:
        quick_drain()
    return redirect(url_for("needs.detail", need_id=need_id))


def _offer_action(offer_id: int, action, message: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    ok, offer = commit_or_flash(lambda: action(db.session, current_user, offer_id, utcnow()), message)
    if not ok:
        return redirect(url_for("needs.mine" if current_user.role is Role.ENTERPRISE else "needs.bank_matches"))
    return redirect(url_for("needs.detail", need_id=offer.need_id))


@needs_bp.route("/offers/<int:offer_id>/accept", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def accept(offer_id: int):
    """The enterprise reads the whole offer (amount, rate, term, the bank's conditions, the assets to pledge, the
    effect on risk compensation) and accepts it by ticking its agreement; accepting is its consent to the pledge."""
    offer = db.session.get(Offer, offer_id)
    if offer is None:
        abort(404)
    try:
        service.own_need(db.session, current_user, offer.need_id)
    except DomainError:
        abort(404)
    form = AcceptOfferForm()
    if form.validate_on_submit():
        return _offer_action(offer_id, docking.accept_offer,
                             _("You accepted the offer; the other offers were declined."))
    if form.is_submitted():
        flash(_("Tick your agreement to accept the offer."), "error")
    today = utcnow().date()
    try:
        plan = evaluate_plan(policy_in_force(db.session, today), offer.amount, offer.annual_rate,
                             benchmark_on(db.session, today), offer.term_months)
    except DomainError:
        plan = None
    return render_template("needs/accept_offer.html", offer=offer, need=offer.need, plan=plan, form=form)


@needs_bp.route("/offers/<int:offer_id>/decline", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def decline(offer_id: int):
    return _offer_action(offer_id, docking.decline_offer, _("You declined the offer."))


@needs_bp.route("/offers/<int:offer_id>/withdraw", methods=["POST"])
@roles_required(Role.BANK)
def withdraw_offer(offer_id: int):
    return _offer_action(offer_id, docking.withdraw_offer, _("Your offer was withdrawn."))


@needs_bp.route("/products")
@roles_required(Role.BANK)
def products():
    rows = db.session.scalars(select(LoanProduct).where(LoanProduct.bank_org_id == current_user.organisation_id)
                              .order_by(LoanProduct.id)).all()
    return render_template("needs/products.html", products=rows)


def _product_input(form: ProductForm) -> docking.ProductInput:
    ltv = {}
    for kind in ("invention", "utility_model", "design"):
        value = getattr(form, f"ltv_{kind}").data
        if value is not None:
            ltv[kind] = value
    return docking.ProductInput(
        name=form.name.data, description=form.description.data, min_amount=form.min_amount.data,
        max_amount=form.max_amount.data, min_term_months=form.min_term_months.data,
        max_term_months=form.max_term_months.data, min_rate=form.min_rate_pct.data,
        max_rate=form.max_rate_pct.data, accepted_kinds=form.accepted_kinds.data or [],
        target_industries=[c.strip() for c in (form.target_industries.data or "").split(",") if c.strip()],
        target_groups=form.target_groups.data or [], requires_guarantee=form.requires_guarantee.data,
        requires_insurance=form.requires_insurance.data, max_ltv=ltv,
    )


@needs_bp.route("/products/new", methods=["GET", "POST"])
@needs_bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@roles_required(Role.BANK)
def product_form(product_id: int | None = None):
    product = None
    if product_id is not None:
        product = db.session.get(LoanProduct, product_id)
        if product is None or product.bank_org_id != current_user.organisation_id:
            abort(404)
    form = ProductForm()
    if request.method == "GET" and product is not None:
        form = ProductForm(obj=product)
        form.min_rate_pct.data = product.min_rate
        form.max_rate_pct.data = product.max_rate
        form.target_industries.data = ", ".join(product.target_industries)
        for kind, value in product.max_ltv.items():
            if hasattr(form, f"ltv_{kind}"):
                getattr(form, f"ltv_{kind}").data = Decimal(value)
    form.accepted_kinds.choices = [(k.value, kind_label(k.value)) for k in IpKind]
    form.target_groups.choices = list(industry_group_names(db.session).items())
    if form.validate_on_submit():
        if commit_or_flash(lambda: docking.save_product(db.session, current_user, _product_input(form), utcnow(),
                                                        product_id=product_id), _("The loan product was saved."))[0]:
            return redirect(url_for("needs.products"))
    return render_template("needs/product_form.html", form=form, product=product, bands=AMOUNT_BANDS)


@bulletin_bp.route("/")
def bulletins():
    rows = db.session.scalars(select(Bulletin).order_by(Bulletin.number.desc())).all()
    return render_template("needs/bulletins.html", bulletins=rows)


@bulletin_bp.route("/<int:number>")
def bulletin_page(number: int):
    return render_template("needs/bulletin.html", bulletin=get_bulletin(db.session, number))


@bulletin_bp.route("/<int:number>.csv")
def bulletin_csv(number: int):
    bulletin = get_bulletin(db.session, number)
    return Response(csv_of(bulletin), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=needs-bulletin-{number}.csv"})


@bulletin_bp.route("/<int:number>.atom")
def bulletin_atom(number: int):
    bulletin = get_bulletin(db.session, number)
    body = atom_of(bulletin, url_for("bulletins.bulletin_atom", number=number, _external=True),
                   _("Financing needs bulletin No. %(n)s", n=number),
                   lambda need_id: url_for("needs.detail", need_id=need_id, _external=True))
    return Response(body, content_type="application/atom+xml; charset=utf-8")
