"""The patent page shows the asset's pledge registrations and its valuation reports to a bank."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from market.accounts.models import OrgKind, Role
from market.valuations.models import ValuationMethod, ValueType
from market.valuations.service import ValuationInput, create_valuation
from tests.conftest import NOW, login
from tests.factories import confirmed_loan, make_asset


def test_patent_page_lists_pledges_and_valuations(client, session, factory):
    enterprise = factory.org(OrgKind.ENTERPRISE)
    asset = make_asset(session, enterprise, filing_date=date(2015, 1, 5))
    valuer = factory.user(Role.VALUER)
    create_valuation(session, valuer, ValuationInput(
        asset_id=asset.id, value_type=ValueType.MORTGAGE_LENDING, amount=Decimal("1800000"),
        valuation_date=date(2016, 2, 1), method=ValuationMethod.INCOME, signer_name="陈评估",
        signer_qualification="CPV-50-0001"), NOW, issue=True)
    bank_user = factory.user(Role.BANK)
    confirmed_loan(session, bank_user, enterprise, principal=Decimal("1000000"),
              annual_rate=Decimal("0.05"), term_months=12, asset_ids=[asset.id], signed_on=date(2016, 3, 1),
              now=NOW, registration_number="ZL2016-0301-88")
    session.commit()
    login(client, bank_user)
    page = client.get(f"/patents/{asset.id}").get_data(as_text=True)
    assert "ZL2016-0301-88" in page and bank_user.organisation.name in page and "有效" in page
    assert "陈评估" in page and "¥180万" in page
    # The cards come from the areas above ip (patent_sections), in their positions: pledges, then valuations.
    assert page.index('data-test="eligibility"') < page.index('data-test="pledge-history"') \
        < page.index('data-test="asset-valuations"')
