"""One rule decides whether an asset may be pledged (`market.ip.service.pledgeable`): the search and the patent
page show it, and signing a loan applies it (`market.loans.signing`, with the loan's policy, start and term).
Signing had its own rule that skipped the remaining life, so a bank could record a 12-month loan on a patent with six
months left, or with no filing date, while the patent page said it could not be pledged."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import Role
from market.errors import DomainError
from market.ip.models import IpKind, LegalStatus, PledgeState
from market.ip.service import pledgeable
from market.loans.signing import sign_loan
from market.policy.service import kinds_in_force
from tests.conftest import NOW
from tests.factories import make_asset

SIGNED = date(2016, 3, 1)
TERM = 12

ASSETS = {
    "a granted invention with 20 years left": dict(filing_date=date(2015, 6, 1)),
    "an invention with six months left": dict(filing_date=date(1996, 9, 1)),
    "an invention without a filing date": dict(filing_date=None),
    "a lapsed utility model": dict(kind=IpKind.UTILITY_MODEL, status=LegalStatus.LAPSED),
    "a frozen invention": dict(frozen=True),
    "a pledged invention": dict(pledge_state=PledgeState.PLEDGED),
    "a trademark (not accepted by the 2015 policy)": dict(kind=IpKind.TRADEMARK),
}


def _signing_accepts(session, bank, enterprise, asset) -> tuple[bool, str]:
    try:
        with session.begin_nested():
            sign_loan(session, bank, enterprise_org_id=enterprise.id, principal=Decimal("1000000"),
                      annual_rate=Decimal("0.05"), term_months=TERM, asset_ids=[asset.id], signed_on=SIGNED, now=NOW,
                      registration_number="渝知质登字第0001号")
        return True, ""
    except DomainError as exc:
        return False, exc.message % {k: str(v) for k, v in exc.params.items()}


@pytest.mark.parametrize("case", list(ASSETS))
def test_signing_accepts_exactly_what_the_patent_page_calls_pledgeable(session, factory, case):
    bank, owner = factory.user(Role.BANK), factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation, **ASSETS[case])
    rule = pledgeable(asset, today=SIGNED, term_months=TERM, eligible_kinds=kinds_in_force(session, SIGNED))
    accepted, message = _signing_accepts(session, bank, owner.organisation, asset)
    assert accepted is rule.ok, (case, rule.reasons, message)
    for reason in rule.reasons:  # the refusal gives the rule's own reasons
        assert reason in message


def test_a_patent_ending_before_the_loan_is_refused_with_the_reason(session, factory):
    bank, owner = factory.user(Role.BANK), factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation, filing_date=date(1996, 9, 1))
    accepted, message = _signing_accepts(session, bank, owner.organisation, asset)
    assert not accepted
    assert message == (f"Asset {asset.id} cannot be pledged: "
                       "The remaining life is shorter than the loan term plus the margin.")
