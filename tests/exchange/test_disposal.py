"""The listing's whole life from a real defaulted loan (loans services): listed for disposal with its due-diligence
pack, reviewed, announced (field notices), objections, bidding, payment, settlement and the claim with the recovery."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from market.accounts.models import OrgKind, Role
from market.errors import Conflict, Forbidden, InvalidInput
from market.exchange import bidding, clock, deposits, disposal, listings, settlement
from market.exchange.announce import ipc_fields
from market.exchange.models import DepositStatus, ListingKind, ListingSource, ListingStatus, ObjectionStatus
from market.ip.models import PledgeState
from market.notices.models import Notice
from tests.conftest import NOW
from tests.factories import CHECKED, make_asset


class Defaulted:
    """A bank lends ¥4,000,000 to an enterprise against two patents and declares the loan in default."""

    def __init__(self, session, factory, n_assets=1):
        from market.loans.default import declare_default
        from tests.factories import confirmed_loan

        self.session = session
        self.staff = factory.user(Role.STAFF)
        self.bank_user = factory.user(Role.BANK)
        self.enterprise = factory.org(OrgKind.ENTERPRISE)
        self.assets = [make_asset(session, self.enterprise, filing_date=date(2017, 5, 2)) for _ in range(n_assets)]
        self.loan = confirmed_loan(session, self.bank_user, self.enterprise, principal=D("4000000"),
                              annual_rate=D("0.0500"), term_months=12, asset_ids=[a.id for a in self.assets],
                              signed_on=date(2016, 3, 1), now=NOW, registration_number="X2016500000999")
        declare_default(session, self.bank_user, self.loan.id, NOW, reason="逾期未还")


def announce(session, d, listing, start=NOW + timedelta(days=31)):
    listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    return listing


def test_defaulted_loan_to_claim_with_recovery(session, factory):
    from market.loans.models import CompensationClaim, LoanStatus

    d = Defaulted(session, factory)
    with pytest.raises(Forbidden):  # another bank
        disposal.list_loan_for_disposal(session, factory.user(Role.BANK), d.loan.id, NOW)
    with pytest.raises(InvalidInput):  # no valuation yet (no valuations area)
        disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW)
    [listing] = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW, valuations={d.assets[0].id:
                                                                                               D("3000000")})
    assert listing.status is ListingStatus.UNDER_REVIEW and listing.starting_price == D("2100000")
    assert d.loan.status is LoanStatus.IN_DISPOSAL
    dd = listing.due_diligence
    assert dd["asset"]["ipc_codes"] == ["H01M10/0525"] and dd["legal_status"]["status"] == "granted"
    assert dd["remaining_life"]["term_ends"] == "2037-05-02"
    assert dd["valuation"] == {"amount": "3000000", "date": None, "source": "listing"}
    assert dd["pledge_history"][0]["registration_number"] == "X2016500000999"
    assert dd["loan"]["status"] == "defaulted" and dd["loan"]["outstanding_principal"] == "4000000.00"
    assert dd["loan"]["defaulted_on"] == NOW.date().isoformat() and dd["licences"] == []
    with pytest.raises(Conflict):
        disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW)

    listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    assert listing.status is ListingStatus.ANNOUNCED
    # the lending bank's staff and the defaulting enterprise's people are barred
    for user in (factory.user(Role.BANK, org=d.loan.bank), factory.user(Role.ENTERPRISE, org=d.enterprise)):
        with pytest.raises(Forbidden):
            deposits.pay_deposit(session, user, listing, NOW)
    a, b = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
    for user in (a, b):
        deposits.pay_deposit(session, user, listing, NOW)
    clock.tick(session, listing.bidding_starts_at)
    bidding.place_bid(session, a, listing.id, D("2100000"), listing.bidding_starts_at + timedelta(hours=1))
    bidding.place_bid(session, b, listing.id, D("2121000"), listing.bidding_starts_at + timedelta(hours=2))
    clock.tick(session, listing.ends_at)
    session.refresh(listing)
    assert listing.status is ListingStatus.SOLD and listing.winner_id == b.id
    ledger_a = deposits.ledger_of(session, a, listing.id)
    assert [(e.entry, e.amount) for e in ledger_a] == [("deposit_paid", D("210000")),
                                                       ("deposit_refunded", D("-210000"))]
    transfer = settlement.record_payment(session, d.staff, listing, listing.ends_at + timedelta(days=2))
    claim = session.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == d.loan.id))
    assert claim is not None and claim.recovery == D("2121000") and claim.outstanding_principal == D("4000000")
    assert claim.loss == D("1879000")
    assert transfer.claim_hook.startswith(f"claim {claim.id} assembled")
    assert settlement.outstanding_principal(session, listing) == D("4000000")
    # The right passed: the pledge ended and the asset now belongs to the buyer's organisation.
    from market.loans.models import Pledge

    pledge = session.scalar(select(Pledge).where(Pledge.asset_id == listing.asset_id))
    assert pledge.active is False and pledge.released_at is not None
    assert listing.asset.pledge_state is PledgeState.FREE and listing.asset.owner_org_id == b.organisation_id


def test_claim_waits_for_the_loans_last_lot(session, factory):
    from market.loans.models import CompensationClaim

    d = Defaulted(session, factory, n_assets=2)
    first, second = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW, valuations={
        d.assets[0].id: D("1000000"), d.assets[1].id: D("2000000")})
    for listing in (first, second):
        listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    a = factory.user(Role.BIDDER)
    deposits.pay_deposit(session, a, first, NOW)
    clock.tick(session, first.bidding_starts_at)
    bidding.place_bid(session, a, first.id, first.starting_price, first.bidding_starts_at + timedelta(hours=1))
    clock.tick(session, first.ends_at)
    transfer = settlement.record_payment(session, a, first, first.ends_at + timedelta(hours=1))
    assert second.status is ListingStatus.FAILED  # no bid: it could still be re-auctioned
    assert transfer.claim_hook.startswith("pending: 1 other lot")
    assert session.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == d.loan.id)) is None
    assert settlement.loan_recovery(session, d.loan.id) == (D("700000"), 1)
    with pytest.raises(Forbidden):
        settlement.end_loan_disposal(session, a, d.loan.id, first.ends_at + timedelta(days=3))
    outcome = settlement.end_loan_disposal(session, d.staff, d.loan.id, first.ends_at + timedelta(days=3))
    claim = session.scalar(select(CompensationClaim).where(CompensationClaim.loan_id == d.loan.id))
    assert claim.recovery == D("700000") and claim.loss == D("3300000") and outcome.startswith(f"claim {claim.id}")


def test_announcement_tells_the_field(session, factory):
    d = Defaulted(session, factory)
    same = factory.org(OrgKind.ENTERPRISE)
    make_asset(session, same, ipc=["H01M4/36"], filing_date=date(2017, 5, 2))
    other = factory.org(OrgKind.ENTERPRISE)
    make_asset(session, other, ipc=["A61K31/00"], filing_date=date(2017, 5, 2))
    [listing] = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW,
                                                valuations={d.assets[0].id: D("1000000")})
    listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    notices = session.scalars(select(Notice).where(Notice.link == f"/exchange/{listing.id}")).all()
    told = {n.recipient_org_id for n in notices}
    assert same.id in told and other.id not in told
    assert d.enterprise.id in told and d.loan.bank_org_id in told  # the parties
    assert ipc_fields(["H01M10/0525", "g06f 17/30", "x"]) == {"H01", "G06"}


def test_past_bidders_in_the_field_are_told(session, factory):
    d = Defaulted(session, factory, n_assets=2)
    first, second = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW, valuations={
        d.assets[0].id: D("1000000"), d.assets[1].id: D("1000000")})
    listings.review_listing(session, d.staff, first, CHECKED, True, NOW)
    person = factory.user(Role.BIDDER, org=None)
    deposits.pay_deposit(session, person, first, NOW)
    listings.review_listing(session, d.staff, second, CHECKED, True, NOW)
    assert session.scalar(select(Notice).where(Notice.recipient_user_id == person.id,
                                               Notice.link == f"/exchange/{second.id}")) is not None


def test_objection_upheld_cancels_and_refunds(session, factory):
    d = Defaulted(session, factory)
    [listing] = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW,
                                                valuations={d.assets[0].id: D("1000000")})
    listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    bidder = factory.user(Role.BIDDER)
    deposit = deposits.pay_deposit(session, bidder, listing, NOW)
    objector = factory.user(Role.ENTERPRISE)
    with pytest.raises(InvalidInput):
        disposal.file_objection(session, objector, listing, "", NOW)
    objection = disposal.file_objection(session, objector, listing, "该专利存在权属纠纷，已向法院起诉。", NOW)
    # an open objection keeps the lot from opening
    assert clock.tick(session, listing.bidding_starts_at)["opened"] == 0
    with pytest.raises(Forbidden):
        disposal.resolve_objection(session, bidder, objection.id, True, None, NOW)
    disposal.resolve_objection(session, d.staff, objection.id, True, "权属纠纷属实", NOW + timedelta(days=1))
    assert objection.status is ObjectionStatus.UPHELD and listing.status is ListingStatus.CANCELLED
    assert deposit.status is DepositStatus.REFUNDED
    with pytest.raises(Conflict):
        disposal.resolve_objection(session, d.staff, objection.id, False, None, NOW)


def test_objection_dismissed_lets_the_lot_open(session, factory):
    d = Defaulted(session, factory)
    [listing] = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW,
                                                valuations={d.assets[0].id: D("1000000")})
    listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    objection = disposal.file_objection(session, factory.user(Role.BIDDER), listing, "起拍价过低，请重新评估。", NOW)
    disposal.resolve_objection(session, d.staff, objection.id, False, "起拍价符合规则", NOW)
    assert clock.tick(session, listing.bidding_starts_at)["opened"] == 1
    with pytest.raises(Conflict):  # the announcement period is over
        disposal.file_objection(session, factory.user(Role.BIDDER), listing, "太晚了的异议内容",
                                listing.bidding_starts_at)


def test_voluntary_licence_by_the_owner(session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation, filing_date=date(2017, 5, 2))
    terms = disposal.default_terms(D("500000"), NOW)
    with pytest.raises(Forbidden):
        listings.create_listing(session, factory.user(Role.ENTERPRISE), asset_id=asset.id,
                               source=ListingSource.VOLUNTARY, valuation=D("500000"), now=NOW, **terms)
    with pytest.raises(InvalidInput, match="exclusive, its territory and its term"):
        listings.create_listing(session, owner, asset_id=asset.id, source=ListingSource.VOLUNTARY,
                               valuation=D("500000"), now=NOW, kind=ListingKind.LICENCE, **terms)
    licence = {"exclusive": True, "territory": "中国大陆", "term_months": 60, "royalty": D("0.03")}
    listing = listings.create_listing(session, owner, asset_id=asset.id, source=ListingSource.VOLUNTARY,
                                     valuation=D("500000"), now=NOW, kind=ListingKind.LICENCE,
                                     licence=licence, **terms)
    assert (listing.licence_exclusive, listing.licence_territory, listing.licence_term_months,
            listing.licence_royalty) == (True, "中国大陆", 60, D("0.03"))
    assert listing.due_diligence["loan"] is None and listing.due_diligence["valuation"]["amount"] == "500000"
    listings.submit_listing(session, owner, listing, NOW)
    assert listing.status is ListingStatus.UNDER_REVIEW


def test_the_due_diligence_pack_shows_dates_as_dates(session, factory, client):
    """The lot page's due diligence reads its dates (term end, pledge registration, default) in the reader's
    language, not as the ISO strings the pack stores."""
    from tests.language import visible_text

    d = Defaulted(session, factory)
    [listing] = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW,
                                                valuations={d.assets[0].id: D("3000000")})
    listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    session.commit()
    for lang in ("zh-CN", "en"):
        page = client.get(f"/exchange/{listing.id}", headers={"Accept-Language": lang})
        assert page.status_code == 200
        text = visible_text(page.get_data(as_text=True))
        assert "2037-05-02" not in text and NOW.date().isoformat() not in text
        assert ("2037年5月2日" if lang == "zh-CN" else "2037") in text


def test_the_loan_page_lists_its_lots_and_links_them(session, factory, client):
    """The defaulted loan's page shows the lots its pledges were listed as, each linked to its lot page (through the
    exchange's `loan_sections` contribution: loans never imports the exchange)."""
    from tests.conftest import login

    d = Defaulted(session, factory)
    [listing] = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW,
                                                valuations={d.assets[0].id: D("3000000")})
    session.commit()
    login(client, d.staff)
    page = client.get(f"/loans/{d.loan.id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'data-test="loan-lots"' in page and f'href="/exchange/{listing.id}"' in page
    assert "交易所处置" in page and "审核中" in page
