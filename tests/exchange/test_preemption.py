"""Pre-emption holders (issue 15 §3): staff register them, record who was told when and how, the lot is not announced
before every holder was told >= 3 days earlier, and a holder wins a tie at equal price; the API and the page show it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from market.accounts.models import OrgKind, Role
from market.audit.models import AuditEntry
from market.db import utcnow
from market.errors import Conflict, Forbidden, InvalidInput
from market.exchange import bidding, clock, deposits, listings, preemption
from market.exchange.models import ListingSource, ListingStatus, NoticeMethod, PreemptionKind
from tests.conftest import NOW
from tests.factories import CHECKED, LOT_ASSET, bearer, build_lot, make_asset


def draft(session, factory, start=NOW):
    staff, bank = factory.user(Role.STAFF), factory.user(Role.BANK)
    asset = make_asset(session, factory.org(OrgKind.ENTERPRISE).id, **LOT_ASSET)
    notice = start - timedelta(days=30)
    listing = listings.create_listing(
        session, bank, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=D("1000000"),
        starting_price=D("700000"), increment=D("10000"), deposit_amount=D("70000"), notice_starts_at=notice,
        bidding_starts_at=start, ends_at=start + timedelta(hours=24), now=notice - timedelta(days=9))
    listings.submit_listing(session, bank, listing, notice - timedelta(days=9))
    return listing, staff, notice


def test_announcement_waits_until_every_holder_was_told_three_days_before(session, factory):
    listing, staff, notice = draft(session, factory)
    holder_user = factory.user(Role.BIDDER)
    with pytest.raises(Forbidden):
        preemption.register_holder(session, factory.user(Role.BANK), listing, name="x",
                                   kind=PreemptionKind.CO_OWNER, user_id=None, now=notice - timedelta(days=8))
    co_owner = preemption.register_holder(session, staff, listing, name="重庆某某科技有限公司（共有人）",
                                          kind=PreemptionKind.CO_OWNER, user_id=holder_user.id,
                                          now=notice - timedelta(days=8))
    with pytest.raises(Conflict):
        preemption.register_holder(session, staff, listing, name="again", kind=PreemptionKind.CO_OWNER,
                                   user_id=holder_user.id, now=notice - timedelta(days=8))
    licensee = preemption.register_holder(session, staff, listing, name="独占被许可人张某",
                                          kind=PreemptionKind.EXCLUSIVE_LICENSEE, user_id=None,
                                          now=notice - timedelta(days=8))
    announce_at = notice - timedelta(days=1)
    # Nobody told yet: refused, and the lot stays under review
    with pytest.raises(InvalidInput, match="must be told at least 3 days"):
        listings.review_listing(session, staff, listing, CHECKED, True, announce_at)
    assert listing.status is ListingStatus.UNDER_REVIEW
    with pytest.raises(InvalidInput):  # a notice in the future is refused
        preemption.record_notice(session, staff, co_owner.id, told_at=announce_at + timedelta(days=1),
                                 method=NoticeMethod.LETTER, note=None, now=notice - timedelta(days=7))
    preemption.record_notice(session, staff, co_owner.id, told_at=notice - timedelta(days=7),
                             method=NoticeMethod.LETTER, note="挂号信 XA123", now=notice - timedelta(days=7))
    # The licensee was told only two days before: still refused
    preemption.record_notice(session, staff, licensee.id, told_at=announce_at - timedelta(days=2),
                             method=NoticeMethod.PHONE, note=None, now=announce_at - timedelta(days=2))
    with pytest.raises(InvalidInput, match="must be told at least 3 days"):
        listings.review_listing(session, staff, listing, CHECKED, True, announce_at)
    # A day later it is three days: announced
    listings.review_listing(session, staff, listing, CHECKED, True, announce_at + timedelta(days=1))
    assert listing.status is ListingStatus.ANNOUNCED
    with pytest.raises(Conflict):  # no new holders once announced
        preemption.register_holder(session, staff, listing, name="late", kind=PreemptionKind.CO_OWNER, user_id=None,
                                   now=announce_at + timedelta(days=1))
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(listing.id))))
    assert {"listing.preemption_registered", "listing.preemption_notified"} <= actions
    assert [n.method for n in preemption.notices_of(session, listing.id)[co_owner.id]] == [NoticeMethod.LETTER]


def test_a_holder_wins_a_tie_at_equal_price(session, factory):
    listing, staff, notice = draft(session, factory)
    holder_user, other = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
    holder = preemption.register_holder(session, staff, listing, name="共有人", kind=PreemptionKind.CO_OWNER,
                                        user_id=holder_user.id, now=notice - timedelta(days=8))
    preemption.record_notice(session, staff, holder.id, told_at=notice - timedelta(days=8),
                             method=NoticeMethod.IN_PERSON, note=None, now=notice - timedelta(days=8))
    listings.review_listing(session, staff, listing, CHECKED, True, notice - timedelta(days=4))
    clock.tick(session, NOW)
    for user in (holder_user, other):
        deposits.pay_deposit(session, user, listing, NOW)
    bidding.place_bid(session, other, listing.id, D("700000"), NOW + timedelta(minutes=1))
    tie = bidding.place_bid(session, holder_user, listing.id, D("700000"), NOW + timedelta(minutes=2))
    session.refresh(listing)
    assert tie.accepted and tie.preemption and listing.leader_id == holder_user.id
    # The other bidder cannot take it back at the same price
    again = bidding.place_bid(session, other, listing.id, D("700000"), NOW + timedelta(minutes=3))
    assert not again.accepted
    session.refresh(listing)
    clock.tick(session, listing.ends_at)
    assert listing.status is ListingStatus.SOLD and listing.winner_id == holder_user.id
    assert listing.sale_price == D("700000")


def test_api_registers_holders_and_shows_them(client, session, factory):
    listing, staff, notice = draft(session, factory, start=utcnow().replace(microsecond=0) + timedelta(days=31))
    holder_user = factory.user(Role.BIDDER)
    session.commit()
    h = bearer(session, staff)
    url = f"/api/v1/disposal/listings/{listing.id}/preemption"
    assert client.post(url, json={"name": "x", "kind": "co_owner"},
                       headers=bearer(session, factory.user(Role.BIDDER))).status_code == 403
    assert client.post(url, json={"name": "x", "kind": "nobody"}, headers=h).status_code == 422
    r = client.post(url, json={"name": "共有人甲", "kind": "co_owner", "user_id": holder_user.id}, headers=h)
    assert r.status_code == 201, r.get_json()
    holder = r.get_json()
    assert (holder["name"], holder["kind"], holder["user_id"], holder["notices"]) == (
        "共有人甲", "co_owner", holder_user.id, [])
    told = (utcnow() - timedelta(days=4)).replace(microsecond=0)
    r = client.post(f"/api/v1/disposal/preemption/{holder['id']}/notices",
                    json={"told_at": told.isoformat() + "+00:00", "method": "email", "note": "邮件回执"}, headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["notices"][0]["method"] == "email"
    desk = client.get(f"/api/v1/disposal/listings/{listing.id}", headers=h).get_json()
    assert desk["holders"][0]["notified_at"] == told.isoformat() + "+00:00"
    # The public detail shows the kinds, not the names
    listings.review_listing(session, staff, listing, CHECKED, True, utcnow())
    session.commit()
    public = client.get(f"/api/v1/listings/{listing.id}").get_json()
    assert public["preemption"] == [{"kind": "co_owner", "count": 1}]
    assert "共有人甲" not in client.get(f"/exchange/{listing.id}").get_data(as_text=True)


def test_staff_page_registers_and_records_in_beijing_time(client, session, factory):
    from tests.conftest import login

    listing, staff, notice = draft(session, factory, start=utcnow().replace(microsecond=0) + timedelta(days=31))
    session.commit()
    login(client, staff)
    page = client.get(f"/exchange/staff/{listing.id}").get_data(as_text=True)
    assert 'data-test="holder-form"' in page
    client.post(f"/exchange/staff/{listing.id}/preemption", data={"name": "独占被许可人乙",
                                                                  "kind": "exclusive_licensee"})
    holder = preemption.holders_of(session, listing.id)[0]
    told_utc = (utcnow() - timedelta(days=5)).replace(second=0, microsecond=0)
    beijing = (told_utc + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/exchange/staff/preemption/{holder.id}/notice", data={"told_at": beijing, "method": "letter"})
    session.refresh(holder)
    assert holder.notified_at == told_utc
    page = client.get(f"/exchange/staff/{listing.id}").get_data(as_text=True)
    assert "独占被许可人乙" in page and "书面函件" in page


def test_a_reauction_and_a_fixed_price_sale_keep_each_holder_once(session, factory):
    """The follow-up lots carry the failed lot's holders once (they were copied twice: a holder with a bidder account
    then broke the unique (listing, user) constraint and the re-auction failed)."""
    holder = factory.user(Role.BIDDER)
    listing, who = build_lot(session, factory, preemption=[(holder.id, PreemptionKind.CO_OWNER)])
    clock.tick(session, listing.ends_at)
    t = listing.ends_at + timedelta(days=1)
    again = listings.create_reauction(session, who["staff"], listing, starting_price=D("600000"),
                                      deposit_amount=D("60000"), increment=D("5000"), notice_starts_at=t,
                                      bidding_starts_at=t + timedelta(days=15), ends_at=t + timedelta(days=16), now=t)
    assert [(h.user_id, h.kind) for h in preemption.holders_of(session, again.id)] == [
        (holder.id, PreemptionKind.CO_OWNER)]
    clock.tick(session, again.ends_at)
    fixed = listings.offer_fixed_price(session, who["staff"], again, again.ends_at + timedelta(days=1))
    assert [h.user_id for h in preemption.holders_of(session, fixed.id)] == [holder.id]
