"""Demo data of the needs area, spread over the past 18 months: loan products of the demo banks, needs of the demo
enterprises offering their own patents (most published, one waiting for review), one docking with an offer, and the
bulletin editions that came out after each week with new needs. Skipped when the enterprises own no eligible assets
yet (the IP area's demo step runs first)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from market.accounts.models import User
from market.db import db, utcnow
from market.errors import DomainError
from market.ip.models import VALID_STATUSES, IpAsset, PledgeState
from market.needs import docking, service
from market.needs.bulletin import publish_bulletin
from market.needs.models import OPEN_STATUSES, Bulletin, LoanProduct, Need, NeedAsset
from market.needs.rules import REVIEW_CHECKLIST, eligible_kinds

PRODUCTS = [
    ("bank@demo.cq", dict(name="科技型企业知识产权质押贷", min_amount=Decimal("500000"),
                          max_amount=Decimal("10000000"), min_term_months=6, max_term_months=36,
                          min_rate=Decimal("0.0435"), max_rate=Decimal("0.0650"),
                          accepted_kinds=["invention", "utility_model", "ic_layout"],
                          target_groups=["pillar_electronics", "pillar_equipment", "sei_nev", "sei_robotics"],
                          max_ltv={"invention": Decimal("0.40"), "utility_model": Decimal("0.25")})),
    ("bank@demo.cq", dict(name="专利+设备组合质押贷", min_amount=Decimal("2000000"), max_amount=Decimal("30000000"),
                          min_term_months=12, max_term_months=60, min_rate=Decimal("0.0475"),
                          max_rate=Decimal("0.0700"), accepted_kinds=["invention", "utility_model", "design"],
                          requires_guarantee=True, max_ltv={"invention": Decimal("0.50")})),
    ("bank2@demo.cq", dict(name="两江知识产权快贷", min_amount=Decimal("300000"), max_amount=Decimal("5000000"),
                           min_term_months=6, max_term_months=24, min_rate=Decimal("0.0500"),
                           max_rate=Decimal("0.0750"), accepted_kinds=["invention", "utility_model", "design"],
                           target_industries=["38", "34"], requires_insurance=True,
                           max_ltv={"invention": Decimal("0.35"), "utility_model": Decimal("0.20")})),
]

# (enterprise e-mail, title, amount, months, highest rate, purpose, assets to offer, days ago it was submitted,
#  days ago staff published it or None (waiting for review)). The market has run for 18 months: the oldest needs
# became loans long ago (market.loans.demo), the newest is still inside the banks' response window.
NEEDS = [
    ("enterprise@demo.cq", "动力电池回收中试线", "8000000", 36, "0.0650", "建设梯次利用与拆解中试线", 2, 526, 522),
    ("enterprise@demo.cq", "储能电池管理系统研发", "2000000", 12, "0.0600", "研发储能电池管理系统样机", 1, 474, 470),
    ("enterprise2@demo.cq", "焊接机器人视觉模块", "1000000", 6, "0.0550", "采购视觉模组与标定设备", 1, 305, 300),
    ("enterprise@demo.cq", "高镍三元正极材料产线技改", "3000000", 12, "0.0600", "购置烧结炉与涂布设备扩产", 2, 84, 80),
    ("enterprise2@demo.cq", "协作机器人关节模组量产", "1500000", 12, "0.0550", "采购精密减速器与检测设备", 2, 4, 3),
    ("enterprise2@demo.cq", "智能产线流动资金", "600000", 6, "0.0500", "原材料采购周转", 1, 1, None),
]
PRODUCTS_DAYS_AGO = 540
OFFER_DAYS_AGO = 72  # 重庆三峡银行两江支行 offers on “高镍三元正极材料产线技改” (accepted and signed by the loans demo)


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _free_assets(user: User, n: int) -> list[int]:
    now = utcnow()
    busy = select(NeedAsset.asset_id).join(Need).where(Need.status.in_(OPEN_STATUSES))
    kinds = eligible_kinds(db.session, now)
    rows = db.session.scalars(select(IpAsset.id).where(
        IpAsset.owner_org_id == user.organisation_id, IpAsset.kind.in_(kinds),
        IpAsset.legal_status.in_(VALID_STATUSES), IpAsset.pledge_state == PledgeState.FREE,
        IpAsset.frozen.is_(False), IpAsset.id.not_in(busy)).order_by(IpAsset.id).limit(n)).all()
    return list(rows)


def demo_step(echo: Callable[[str], None] = print) -> None:
    today = utcnow().replace(microsecond=0)
    products = 0
    for email, spec in PRODUCTS:
        bank = _user(email)
        if bank is None or db.session.scalar(select(LoanProduct.id).where(
                LoanProduct.bank_org_id == bank.organisation_id, LoanProduct.name == spec["name"])):
            continue
        docking.save_product(db.session, bank, docking.ProductInput(**spec), today - timedelta(days=PRODUCTS_DAYS_AGO))
        products += 1
    db.session.commit()
    staff = _user("staff@demo.cq")
    posted, skipped = [], 0
    for email, title, amount, months, rate, purpose, n_assets, submitted, published in NEEDS:
        ent = _user(email)
        if ent is None or db.session.scalar(select(Need.id).where(Need.org_id == ent.organisation_id,
                                                                  Need.title == title)):
            continue
        asset_ids = _free_assets(ent, n_assets)
        if not asset_ids:
            skipped += 1
            continue
        data = service.NeedInput(title=title, amount=Decimal(amount), term_months=months, purpose=purpose,
                                 max_rate=Decimal(rate), asset_ids=asset_ids)
        try:
            need = service.create_need(db.session, ent, data, today - timedelta(days=submitted), submit=True)
            if published is not None and staff is not None:
                service.review_need(db.session, staff, need.id, True, {k: True for k, _l in REVIEW_CHECKLIST},
                                    None, today - timedelta(days=published))
        except DomainError as exc:
            db.session.rollback()
            echo(f"Needs demo: skipped “{title}”: {exc.message % exc.params if exc.params else exc.message}")
            continue
        db.session.commit()
        posted.append(need)
    bank2 = _user("bank2@demo.cq")
    first = next((n for n in posted if n.title == "高镍三元正极材料产线技改" and n.status.value == "published"), None)
    if bank2 is not None and first is not None:
        product = db.session.scalar(select(LoanProduct).where(LoanProduct.bank_org_id == bank2.organisation_id))
        docking.make_offer(db.session, bank2, first.id, first.amount, Decimal("0.0520"), first.term_months,
                           today - timedelta(days=OFFER_DAYS_AGO), product_id=product.id if product else None,
                           conditions="需办理专利权质押登记")
    db.session.commit()
    editions = _bulletins(today)
    echo(f"Needs: {products} loan products, {len(posted)} needs posted, {editions} bulletins"
         + (f", {skipped} skipped (the enterprise owns no free eligible patents yet)" if skipped else ""))


def _bulletins(today: datetime) -> int:
    """The periodic bulletin as it came out: an edition after each week in which needs were published, the first
    holding the oldest published need. Nothing when editions exist already."""
    if db.session.scalar(select(Bulletin.id).limit(1)):
        return 0
    published = sorted(d for d in db.session.scalars(select(Need.published_at).where(Need.published_at.is_not(None))))
    made, last_end = 0, None
    for at in published:
        until = at.date() + timedelta(days=7 - at.weekday())  # the Monday after
        if until > today.date() or (last_end is not None and until <= last_end):
            continue
        publish_bulletin(db.session, datetime.combine(until, datetime.min.time()) + timedelta(hours=1), until=until)
        last_end, made = until, made + 1
    db.session.commit()
    return made
