from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from market.accounts.models import Role
from market.errors import Conflict, Forbidden, InvalidInput
from market.exchange import bidding, clock, deposits, listings, settlement
from market.exchange.models import Deposit, DepositStatus, LedgerEntry, ListingSource, ListingStatus, PreemptionKind
from tests.conftest import NOW
from tests.factories import CHECKED, build_lot


def bidder_with_deposit(session, factory, listing, now=NOW):
    user = factory.user(Role.BIDDER)
    deposits.pay_deposit(session, user, listing, now)
    return user


def bid(session, user, listing, amount, now):
    return bidding.place_bid(session, user, listing.id, D(amount), now)


def test_review_needs_full_checklist(session, factory):
    listing, who = build_lot(session, factory, bidding=False)
    assert listing.status is ListingStatus.ANNOUNCED
    assert listing.due_diligence["legal_status"]["status"] == "granted"
    assert listing.due_diligence["remaining_life"]["term_ends"] == "2036-03-01"
    assert who["asset"].pledge_state.value == "in_disposal"


def test_review_refused_when_checklist_incomplete(session, factory):
    bank = factory.user(Role.BANK)
    staff = factory.user(Role.STAFF)
    from tests.factories import LOT_ASSET, make_asset
    asset = make_asset(session, **LOT_ASSET)
    listing = listings.create_listing(
        session, bank, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=D("100"),
        starting_price=D("70"), increment=D("1"), deposit_amount=D("5"), notice_starts_at=NOW,
        bidding_starts_at=NOW + timedelta(days=30), ends_at=NOW + timedelta(days=31), now=NOW)
    listings.submit_listing(session, bank, listing, NOW)
    with pytest.raises(InvalidInput):
        listings.review_listing(session, staff, listing, {**CHECKED, "parties_notified": False}, True, NOW)


def test_invalid_terms_refused(session, factory):
    bank = factory.user(Role.BANK)
    from tests.factories import LOT_ASSET, make_asset
    asset = make_asset(session, **LOT_ASSET)
    with pytest.raises(InvalidInput, match="70%"):
        listings.create_listing(
            session, bank, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=D("100"),
            starting_price=D("69.99"), increment=D("1"), deposit_amount=D("5"), notice_starts_at=NOW,
            bidding_starts_at=NOW + timedelta(days=30), ends_at=NOW + timedelta(days=31), now=NOW)


def test_no_deposit_no_bid(session, factory, lot):
    listing, _ = lot
    user = factory.user(Role.BIDDER)
    with pytest.raises(Forbidden, match="deposit"):
        bid(session, user, listing, "700000", NOW + timedelta(hours=1))


def test_conflicted_bidders_barred(session, factory, lot):
    listing, who = lot
    with pytest.raises(Forbidden):
        deposits.pay_deposit(session, who["bank"], listing, NOW)
    owner_user = factory.user(Role.ENTERPRISE, org=who["owner"])
    with pytest.raises(Forbidden):
        deposits.pay_deposit(session, owner_user, listing, NOW)


def test_bids_codes_and_extensions(session, factory, lot):
    listing, _ = lot
    a, b = bidder_with_deposit(session, factory, listing), bidder_with_deposit(session, factory, listing)
    first = bid(session, a, listing, "700000", NOW + timedelta(hours=1))
    assert first.accepted and len(first.code) == 4
    assert bid(session, b, listing, "705000", NOW + timedelta(hours=2)).outcome == "too_low"
    assert bid(session, b, listing, "700000", NOW + timedelta(hours=2)).outcome == "outbid"
    end = listing.ends_at
    late = bid(session, b, listing, "710000", end - timedelta(minutes=4, seconds=59))
    assert late.accepted and late.ends_at_after == end + timedelta(seconds=1)
    session.refresh(listing)
    assert listing.ends_at == end + timedelta(seconds=1)
    again = bid(session, a, listing, "720000", listing.ends_at - timedelta(seconds=10))
    session.refresh(listing)
    second_end = end + timedelta(seconds=1) - timedelta(seconds=10) + timedelta(minutes=5)
    assert again.accepted and listing.ends_at == second_end
    after = bid(session, b, listing, "900000", listing.ends_at)
    assert not after.accepted and after.outcome == "closed"
    assert "closed" in str(bidding.bid_error(after))
    assert listing.current_price == D("720000") and listing.bid_count == 3


def test_preemption_holder_wins_tie(session, factory):
    holder = factory.user(Role.BIDDER)
    listing, _ = build_lot(session, factory, preemption=[(holder.id, PreemptionKind.CO_OWNER)])
    other = bidder_with_deposit(session, factory, listing)
    deposits.pay_deposit(session, holder, listing, NOW)
    assert bid(session, other, listing, "750000", NOW + timedelta(hours=1)).accepted
    tie = bid(session, holder, listing, "750000", NOW + timedelta(hours=2))
    assert tie.accepted and tie.preemption
    session.refresh(listing)
    assert listing.leader_id == holder.id
    assert bid(session, other, listing, "750000", NOW + timedelta(hours=3)).outcome == "outbid"
    clock.tick(session, listing.ends_at)
    session.refresh(listing)
    assert listing.status is ListingStatus.SOLD and listing.winner_id == holder.id
    assert listing.sale_price == D("750000")


def test_close_refunds_losers_and_tick_is_idempotent(session, factory, lot):
    listing, _ = lot
    a, b, c = (bidder_with_deposit(session, factory, listing) for _ in range(3))
    bid(session, a, listing, "700000", NOW + timedelta(hours=1))
    bid(session, b, listing, "710000", NOW + timedelta(hours=2))
    end = listing.ends_at
    assert clock.tick(session, end)["closed"] == 1
    assert clock.tick(session, end) == {"opened": 0, "closed": 0, "unpaid": 0}
    session.refresh(listing)
    assert listing.status is ListingStatus.SOLD and listing.winner_id == b.id
    assert listing.payment_due_at == end + timedelta(days=10)
    statuses = {d.bidder_id: d.status for d in session.scalars(
        select(Deposit).where(Deposit.listing_id == listing.id))}
    assert statuses == {a.id: DepositStatus.REFUNDED, b.id: DepositStatus.HELD, c.id: DepositStatus.REFUNDED}
    refunds = session.scalars(select(LedgerEntry).where(LedgerEntry.listing_id == listing.id,
                                                                 LedgerEntry.entry == "deposit_refunded")).all()
    assert len(refunds) == 2


def test_unpaid_winner_forfeits_and_is_barred_from_reauction(session, factory, lot):
    listing, who = lot
    a = bidder_with_deposit(session, factory, listing)
    bid(session, a, listing, "700000", NOW + timedelta(hours=1))
    clock.tick(session, listing.ends_at)
    session.refresh(listing)
    due = listing.payment_due_at
    assert clock.tick(session, due)["unpaid"] == 1
    session.refresh(listing)
    assert listing.status is ListingStatus.UNPAID
    later = due + timedelta(days=1)
    with pytest.raises(InvalidInput, match="20%"):
        listings.create_reauction(session, who["staff"], listing, starting_price=D("559999"), deposit_amount=D("56000"),
                                  increment=D("10000"), notice_starts_at=later,
                                  bidding_starts_at=later + timedelta(days=15),
                                  ends_at=later + timedelta(days=16), now=later)
    re = listings.create_reauction(session, who["staff"], listing, starting_price=D("560000"),
                                   deposit_amount=D("56000"), increment=D("10000"), notice_starts_at=later,
                                   bidding_starts_at=later + timedelta(days=15), ends_at=later + timedelta(days=16),
                                   now=later)
    assert re.round == 2 and re.status is ListingStatus.ANNOUNCED
    with pytest.raises(Forbidden, match="did not pay"):
        deposits.pay_deposit(session, a, re, later)


def test_failed_then_reauction_then_fixed_price(session, factory, lot):
    listing, who = lot
    clock.tick(session, listing.ends_at)
    session.refresh(listing)
    assert listing.status is ListingStatus.FAILED
    t = listing.ends_at + timedelta(days=1)
    re = listings.create_reauction(session, who["staff"], listing, starting_price=D("600000"),
                                   deposit_amount=D("60000"), increment=D("5000"), notice_starts_at=t,
                                   bidding_starts_at=t + timedelta(days=15), ends_at=t + timedelta(days=16), now=t)
    assert clock.tick(session, t + timedelta(days=15))["opened"] == 1
    assert clock.tick(session, t + timedelta(days=16))["closed"] == 1
    session.refresh(re)
    assert re.status is ListingStatus.FAILED
    t2 = t + timedelta(days=17)
    fixed = listings.offer_fixed_price(session, who["staff"], re, t2)
    assert fixed.ends_at == t2 + timedelta(days=60) and fixed.starting_price == D("600000")
    buyer = bidder_with_deposit(session, factory, fixed, t2)
    assert bid(session, buyer, fixed, "599999", t2 + timedelta(days=1)).outcome == "too_low"
    assert bid(session, buyer, fixed, "600000", t2 + timedelta(days=1)).accepted
    session.refresh(fixed)
    assert fixed.status is ListingStatus.SOLD and fixed.winner_id == buyer.id
    transfer = settlement.record_payment(session, buyer, fixed, t2 + timedelta(days=2))
    assert transfer.price == D("600000") and fixed.status is ListingStatus.SETTLED
    assert transfer.claim_hook == "not a defaulted loan"


def test_reauction_only_within_30_days(session, factory, lot):
    listing, who = lot
    clock.tick(session, listing.ends_at)
    session.refresh(listing)
    t = listing.ends_at + timedelta(days=31)
    with pytest.raises(Conflict, match="30 days"):
        listings.create_reauction(session, who["staff"], listing, starting_price=D("600000"), deposit_amount=D("60000"),
                                 increment=D("5000"), notice_starts_at=t, bidding_starts_at=t + timedelta(days=15),
                                 ends_at=t + timedelta(days=16), now=t)


def test_settlement_hands_loss_to_claims_hook(session, factory, lot):
    listing, _who = lot
    listing.loan_id = None
    a = bidder_with_deposit(session, factory, listing)
    bid(session, a, listing, "700000", NOW + timedelta(hours=1))
    clock.tick(session, listing.ends_at)
    session.refresh(listing)
    with pytest.raises(Forbidden):
        settlement.record_payment(session, factory.user(Role.BIDDER), listing, listing.ends_at)
    transfer = settlement.record_payment(session, a, listing, listing.ends_at + timedelta(days=1))
    entries = {e.entry: e.amount for e in session.scalars(select(LedgerEntry).where(
        LedgerEntry.listing_id == listing.id))}
    assert entries["balance_paid"] == D("630000") and entries["proceeds_to_seller"] == D("-700000")
    assert transfer.buyer_id == a.id and listing.asset.pledge_state.value == "free"


def test_demo_step(at_now, session, factory):
    """The exchange's demo step alone: the second enterprise's valued patents become one lot in bidding and one
    announced (no defaulted loan here to dispose of); run again, it leaves the lots alone."""
    from market.exchange.demo import demo_step
    from market.ip.models import PledgeState
    from market.valuations import service as valuations
    from tests.factories import LOT_ASSET, make_asset, vinput

    for email, role in [("staff@demo.cq", Role.STAFF), ("bank@demo.cq", Role.BANK), ("bidder@demo.cq", Role.BIDDER),
                        ("bidder2@demo.cq", Role.BIDDER)]:
        factory.user(role, email=email)
    owner = factory.user(Role.ENTERPRISE, email="enterprise2@demo.cq").organisation  # the demo's seller
    valuer = factory.user(Role.VALUER)
    for _ in range(3):
        asset = make_asset(session, owner.id, **LOT_ASSET)
        asset.pledge_state = PledgeState.FREE  # the demo sells free patents (make_asset's are pledged)
        valuations.create_valuation(session, valuer, vinput(asset), at_now, issue=True)
    lines = []
    demo_step(lines.append)
    assert "no defaulted loan" in lines[0] and "(bidding, announced)" in lines[-1], lines
    assert "voluntary lots []" not in lines[-1], lines
    lines.clear()
    demo_step(lines.append)
    assert "already" in lines[0], lines
