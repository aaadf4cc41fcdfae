"""Demo data of the valuations area: the demo valuer's expert profile, one issued report (market value) for each
granted patent of the demo enterprises, dated 60 days back, with an amount derived from the asset id
(¥300,000–¥3,000,000), and one answered consultation. Running it again adds nothing already there."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from market.accounts.models import User
from market.db import db, utcnow
from market.errors import DomainError
from market.ip.models import IpAsset, LegalStatus
from market.valuations import experts, service
from market.valuations.models import Consultation, Valuation, ValuationMethod, ValueType

VALUER = "valuer@demo.cq"
ENTERPRISES = ("enterprise@demo.cq", "enterprise2@demo.cq")
SIGNER = ("王评估", "CPV-50120150023")  # demo signer name and qualification number
SPECIALITIES = ["H01M", "B25J", "H02J", "G05B", "H"]


def demo_amount(asset_id: int) -> Decimal:
    """Deterministic ¥300,000–¥3,000,000 in steps of ¥10,000."""
    return Decimal(300_000 + (asset_id * 7919) % 271 * 10_000)


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def demo_step(echo) -> None:
    session = db.session
    valuer = _user(VALUER)
    owners = [u for u in (_user(e) for e in ENTERPRISES) if u is not None and u.organisation_id]
    if valuer is None or not owners:
        echo("Valuations demo: skipped (no demo valuer or enterprises)")
        return
    now = utcnow().replace(microsecond=0)
    issued_at = now - timedelta(days=60)
    if experts.own_profile(session, valuer) is None:
        experts.save_expert_profile(session, valuer, title="资产评估师", specialities=SPECIALITIES, now=now,
                                    bio="从事专利价值评估十余年，熟悉锂电池与工业机器人领域的质押融资评估。")
    valued = set(session.scalars(select(Valuation.asset_id).where(Valuation.agency_org_id == valuer.organisation_id)))
    assets = session.scalars(select(IpAsset).where(
        IpAsset.owner_org_id.in_([u.organisation_id for u in owners]),
        IpAsset.legal_status == LegalStatus.GRANTED).order_by(IpAsset.id)).all()
    added = 0
    for asset in assets:
        if asset.id in valued:
            continue
        data = service.ValuationInput(
            asset_id=asset.id, value_type=ValueType.MARKET, amount=demo_amount(asset.id),
            valuation_date=issued_at.date(), method=ValuationMethod.INCOME, signer_name=SIGNER[0],
            signer_qualification=SIGNER[1], basis="收益法：按许可费节省估算未来五年现金流，折现率 12%（演示数据）。")
        try:
            with session.begin_nested():
                service.create_valuation(session, valuer, data, issued_at, issue=True, notify_owner=False)
        except DomainError:
            continue  # e.g. a conflict of interest declared since
        added += 1
    echo(f"Valuations demo: {added} reports issued ({len(valued)} were there)")
    _demo_consultation(session, valuer, owners[0], now, echo)


def _demo_consultation(session, valuer, owner, now, echo) -> None:
    if session.scalar(select(Consultation.id).where(Consultation.org_id == owner.organisation_id).limit(1)):
        return
    asset = session.scalar(select(IpAsset).where(IpAsset.owner_org_id == owner.organisation_id,
                                                 IpAsset.legal_status == LegalStatus.GRANTED).order_by(IpAsset.id))
    profile = experts.own_profile(session, valuer)
    if asset is None or profile is None:
        return
    asked = now - timedelta(days=3)
    question = "我们想以这项发明专利质押，融资约 200 万元用于产线技改，应选择什么价值类型和期限？"
    c = experts.request_consultation(session, owner, asset_id=asset.id, expert_id=profile.id, now=asked,
                                     question=question)
    value = demo_amount(asset.id)
    experts.answer_consultation(
        session, valuer, c.id, now=asked + timedelta(days=1),
        answer="建议以抵押贷款价值为基础申请质押贷款，按质押率 40% 测算额度；期限 12 个月，可同时申请担保费补助。",
        suggested_amount=(value * Decimal("0.4")).quantize(Decimal("1")), suggested_term_months=12,
        suggested_value_type=ValueType.MORTGAGE_LENDING)
    echo(f"Valuations demo: consultation {c.id} answered")
