"""Who may see which loans: one rule (`market.loans.access`) for the loans page, the API list, one loan, and a
need's loan; and "may sign" on the need page is the signing rule itself."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from market.accounts.models import OrgKind, Role
from market.api.auth import issue_token
from market.db import db
from market.errors import NotFound
from market.loans import access, signing
from market.loans.models import Loan
from tests.conftest import NOW, login
from tests.factories import NeedsKit, confirmed_loan, make_asset


def _ids(actor) -> set[int]:
    return set(db.session.scalars(access.visible_loans(actor).with_only_columns(Loan.id)))


@pytest.fixture
def two_loans(world, factory):
    """Loan `mine` with a guarantor and an insurer; loan `other` of another bank and enterprise."""
    mine = world.loan(guarantor_org_id=world.guarantor.id, guarantee_coverage=Decimal("0.3"),
                      insurer_org_id=world.insurer.id, insurance_coverage=Decimal("0.2"))
    other_bank = factory.user(Role.BANK)
    other_enterprise = factory.org(OrgKind.ENTERPRISE)
    other = confirmed_loan(world.session, other_bank, other_enterprise, principal=Decimal("1000000"),
                           annual_rate=Decimal("0.05"), term_months=12,
                           asset_ids=[make_asset(world.session, other_enterprise).id],
                           signed_on=mine.signed_on, registration_number="X2016500000124")
    return mine, other


@pytest.mark.parametrize("role", [Role.BANK, Role.ENTERPRISE, Role.GUARANTOR, Role.INSURER])
def test_each_party_sees_its_loans_on_the_page_and_in_the_api_alike(client, world, factory, two_loans, role):
    """The loans page and GET /api/v1/loans list the same loans: before, the page let only banks, enterprises and
    staff in and the API also guarantors and insurers; both now follow `access.visible_loans`."""
    mine, other = two_loans
    org = {Role.BANK: world.bank_user.organisation, Role.ENTERPRISE: world.enterprise,
           Role.GUARANTOR: world.guarantor, Role.INSURER: world.insurer}[role]
    user = factory.user(role, org=org)
    assert _ids(user) == {mine.id}
    assert access.may_see(user, mine) and not access.may_see(user, other)
    login(client, user)
    page = client.get("/loans/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/loans/{mine.id}"' in html and f'href="/loans/{other.id}"' not in html
    _token, secret = issue_token(world.session, user, "test", "read", NOW)
    body = client.get("/api/v1/loans", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert [item["id"] for item in body["items"]] == [mine.id]
    assert client.get(f"/loans/{other.id}").status_code == 404


def test_staff_see_every_loan_and_other_roles_none(client, world, factory, two_loans):
    mine, other = two_loans
    assert {mine.id, other.id} <= _ids(world.staff)
    valuer = factory.user(Role.VALUER)
    assert _ids(valuer) == set() and not access.may_see(valuer, mine)
    assert _ids(None) == set()
    login(client, valuer)
    assert client.get("/loans/").status_code == 403
    with pytest.raises(NotFound):
        access.loan_for(world.session, valuer, mine.id)


def test_a_needs_loan_and_may_sign_follow_the_loan_and_signing_rules(session, factory):
    ent, bank, need, offer = NeedsKit(session, factory).accepted_offer()
    stranger_bank = factory.user(Role.BANK)
    assert signing.may_sign(session, bank, need)
    assert not signing.may_sign(session, stranger_bank, need) and not signing.may_sign(session, ent, need)
    loan = signing.sign_loan_from_offer(session, bank, offer.id, signed_on=(NOW + timedelta(days=1)).date(),
                                        now=NOW + timedelta(days=1), registration_number="Y2026500000001")
    assert not signing.may_sign(session, bank, need)  # signed: nothing more to sign
    assert signing.need_loan_for(session, bank, need) is loan
    assert signing.need_loan_for(session, ent, need) is loan
    assert signing.need_loan_for(session, stranger_bank, need) is None
