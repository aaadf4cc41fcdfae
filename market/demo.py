"""Demo data: one verified organisation and user per role, built on the real reference and patent data."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from stdnum.cn import uscc

from market.accounts.models import Organisation, OrgStatus, Role, User
from market.accounts.service import create_user
from market.bootstrap import init_db
from market.db import db, utcnow

DEMO_PASSWORD = "demo-pass-2026"


def credit_code(base17: str) -> str:
    """A syntactically valid unified social credit code (check digit computed) for demo organisations."""
    return base17 + uscc.calc_check_digit(base17)


# (role, e-mail, person's name, organisation, district, GB/T 4754 industry, 17-char credit-code base)
DEMO_ACCOUNTS = [
    ("enterprise", "enterprise@demo.cq", "陈立新", "重庆渝新锂电科技有限公司", "500112", "3841", "91500112MA5UX0001"),
    ("enterprise", "enterprise2@demo.cq", "刘海涛", "重庆两江智能装备有限公司", "500112", "3491", "91500112MA5UX0002"),
    ("bank", "bank@demo.cq", "周静", "重庆银行科技支行", "500103", "6621", "91500103MA5UX0003"),
    ("bank", "bank2@demo.cq", "黄建国", "重庆三峡银行两江支行", "500112", "6621", "91500112MA5UX0004"),
    ("staff", "staff@demo.cq", "王芳", "重庆联合产权交易所知识产权交易分所", "500103", "7213", "91500103MA5UX0005"),
    ("valuer", "valuer@demo.cq", "李明远", "重庆两江知识产权评估有限公司", "500112", "7520", "91500112MA5UX0006"),
    ("guarantor", "guarantor@demo.cq", "赵敏", "重庆科技融资担保有限公司", "500103", "6999", "91500103MA5UX0007"),
    ("insurer", "insurer@demo.cq", "孙磊", "重庆安诚财产保险股份有限公司", "500103", "6820", "91500103MA5UX0008"),
    ("bidder", "bidder@demo.cq", "吴晓东", "重庆知识产权运营有限公司", "500106", "7520", "91500106MA5UX0009"),
    ("bidder", "bidder2@demo.cq", "郑雨桐", None, None, None, None),
]

# Later areas append steps (patents, needs, loans, auctions, index) as functions of `echo`.
DEMO_STEPS: list[Callable[[Callable[[str], None]], None]] = []


def load_demo_accounts() -> list[tuple[str, str]]:
    now = utcnow()
    accounts = []
    for role, email, name, org_name, district, industry, code in DEMO_ACCOUNTS:
        accounts.append((role, email))
        if db.session.scalar(select(User.id).where(User.email == email)):
            continue
        user = create_user(db.session, email=email, password=DEMO_PASSWORD, role=Role(role), org_name=org_name,
                           name=name, now=now, credit_code=credit_code(code) if code else None,
                           check_strength=False)
        org: Organisation | None = user.organisation
        if org is not None and org.district_code is None:
            org.district_code = district
            org.industry_code = industry
            org.status = OrgStatus.VERIFIED
    db.session.commit()
    return accounts


def prepare_demo(echo: Callable[[str], None] = print) -> dict:
    counts = init_db()
    echo(f"Schema up to date; reference rows added: {counts}")
    accounts = load_demo_accounts()
    echo(f"Demo accounts ready: {len(accounts)}")
    from market.areas import all_areas

    for step in DEMO_STEPS + [a.demo_step for a in all_areas() if hasattr(a, "demo_step")]:
        step(echo)
        db.session.commit()
    _sync_indexes(echo)
    return {"password": DEMO_PASSWORD, "accounts": accounts}


def _sync_indexes(echo: Callable[[str], None]) -> None:
    """Apply what the demo steps left in the search outbox, so a fresh demo shows no index lag."""
    from market.outbox.backend import get_backend
    from market.outbox.indexes import all_indexes
    from market.outbox.sync import drain, sync_message

    for index in all_indexes():
        try:
            result = drain(db.session, get_backend(), index)
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - the demo still serves; `market search sync` later
            db.session.rollback()
            echo(f"{index.label}: not synced ({exc}); run `market search sync` later")
            continue
        echo(sync_message(f"{index.label}", result))
