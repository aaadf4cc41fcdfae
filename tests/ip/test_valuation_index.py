"""Valuations reach the patent index: a valuation band facet and sorting by value, kept current by the outbox."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from market.accounts.models import OrgKind, Role
from market.db import db
from market.ip.indexing import drain, get_backend
from market.valuations.models import ValuationMethod, ValueType
from market.valuations.service import ValuationInput, create_valuation, withdraw_valuation
from tests.conftest import NOW, PASSWORD, Factory
from tests.factories import make_asset


def test_valuation_band_facet_and_sort_follow_issued_reports(at_now, make_app, tmp_path):
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"))
    with app.app_context():
        f = Factory(db.session)
        enterprise = f.org(OrgKind.ENTERPRISE)
        cheap = make_asset(db.session, enterprise)
        dear = make_asset(db.session, enterprise)
        cheap.title, dear.title = "一种储能电池管理系统", "一种动力电池热管理装置"
        valuer = f.user(Role.VALUER)
        bank = f.user(Role.BANK)
        for asset, amount in ((cheap, "800000"), (dear, "6500000")):
            create_valuation(db.session, valuer, ValuationInput(
                asset_id=asset.id, value_type=ValueType.MARKET, amount=Decimal(amount),
                valuation_date=date(2026, 10, 1), method=ValuationMethod.INCOME, signer_name="陈评估",
                signer_qualification="CPV-50-0001"), NOW, issue=True)
        db.session.commit()
        drain(db.session, get_backend())
        db.session.commit()
        ids = (str(cheap.id), str(dear.id))
        valuer_email, bank_email = valuer.email, bank.email
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"email": bank_email, "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/patents?q=电池&sort=value", headers=headers).get_json()
    assert [str(i["id"]) for i in body["items"]] == [ids[1], ids[0]]
    bands = {b["value"]: b["count"] for b in body["facets"]["value_band"]}
    assert bands.get("lt1m") == 1 and bands.get("5m-10m") == 1
    only = client.get("/api/v1/patents?q=电池&value_band=5m-10m", headers=headers).get_json()
    assert [str(i["id"]) for i in only["items"]] == [ids[1]]
    with app.app_context():
        from sqlalchemy import select

        from market.accounts.models import User
        from market.valuations.models import Valuation

        valuer = db.session.scalar(select(User).where(User.email == valuer_email))
        report = db.session.scalar(select(Valuation).where(Valuation.asset_id == int(ids[1])))
        withdraw_valuation(db.session, valuer, report.id, "错误的参数", NOW)
        db.session.commit()
        drain(db.session, get_backend())
        db.session.commit()
    after = client.get("/api/v1/patents?q=电池&value_band=5m-10m", headers=headers).get_json()
    assert after["total"] == 0
