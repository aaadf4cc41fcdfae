"""The exchange's disposal desk through the API: defaulted loans waiting to be listed, listing them (the web's rules),
review with the checklist, objections, cancel, re-auction, fixed-price sale, settlement with the claim hand-off, and a
bidder's own deposits. Each refusal is checked to keep nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.db import utcnow
from market.exchange import bidding, clock, deposits, listings
from market.exchange.models import Listing, ListingStatus, Objection
from tests.conftest import NOW
from tests.exchange.test_disposal import Defaulted
from tests.factories import CHECKED, bearer, build_lot

ACCEPT = {"accept_terms": True}  # paying the deposit accepts the announcement and terms



def listings_of(session, loan_id) -> list[Listing]:
    return list(session.scalars(select(Listing).where(Listing.loan_id == loan_id).order_by(Listing.id)))


def audits(session, action: str, entity_type: str, entity_id) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id)))


@pytest.fixture
def two(session, factory):
    d = Defaulted(session, factory, n_assets=2)
    session.commit()
    return d


def test_waiting_loans_by_role(client, session, factory, two):
    url = "/api/v1/disposal/loans"
    r = client.get(url, headers=bearer(session, two.staff))
    assert r.status_code == 200, r.get_json()
    entry = next(x for x in r.get_json()["items"] if x["loan_id"] == two.loan.id)
    assert entry["status"] == "defaulted" and entry["outstanding_principal"] == "4000000.00"
    assert sorted(a["id"] for a in entry["assets"]) == sorted(a.id for a in two.assets)
    assert all(a["valuation"] is None and a["kind"] == "invention" for a in entry["assets"])
    own = client.get(url, headers=bearer(session, two.bank_user)).get_json()["items"]
    assert [x["loan_id"] for x in own] == [two.loan.id]
    assert client.get(url, headers=bearer(session, factory.user(Role.BANK))).get_json()["items"] == []
    assert client.get(url, headers=bearer(session, factory.user(Role.BIDDER))).status_code == 403


def test_listing_a_defaulted_loan_is_all_or_nothing(client, session, factory, two):
    url = f"/api/v1/disposal/loans/{two.loan.id}/listings"
    first, second = two.assets
    staff = bearer(session, two.staff)
    # a valuation for only one of the two assets: the first lot would be made, then the second refused
    r = client.post(url, json={"valuations": [{"asset_id": first.id, "amount": "1000000"}]}, headers=staff)
    assert r.status_code == 422 and second.title in r.get_json()["error"]["message"]
    r = client.post(url, json={"valuations": [{"asset_id": first.id, "amount": "1000000"},
                                              {"asset_id": 987654, "amount": "5"}]}, headers=staff)
    assert r.status_code == 422 and "987654" in r.get_json()["error"]["message"]
    r = client.post(url, json={"valuations": [{"asset_id": first.id, "amount": "1000000.001"}]}, headers=staff)
    assert r.status_code == 422 and r.get_json()["error"]["details"]
    both = {"valuations": [{"asset_id": first.id, "amount": "1000000"}, {"asset_id": second.id, "amount": 800000}]}
    assert client.post(url, json=both, headers=bearer(session, factory.user(Role.BANK))).status_code == 403
    assert client.post(url, json=both, headers=bearer(session, factory.user(Role.BIDDER))).status_code == 403
    assert client.post("/api/v1/disposal/loans/987654/listings", json=both, headers=staff).status_code == 404
    session.refresh(two.loan)
    assert listings_of(session, two.loan.id) == [] and two.loan.status.value == "defaulted"
    assert audits(session, "loan.in_disposal", "loan", two.loan.id) == 0

    r = client.post(url, json=both, headers=bearer(session, two.bank_user))  # the lending bank may list too
    assert r.status_code == 201, r.get_json()
    items = r.get_json()["items"]
    assert [x["asset_id"] for x in items] == [first.id, second.id]
    assert all(x["status"] == "under_review" and x["source"] == "default" and x["loan_id"] == two.loan.id
               for x in items)
    assert [(x["valuation"], x["starting_price"], x["deposit_amount"]) for x in items] == [
        ("1000000.00", "700000.00", "70000.00"), ("800000.00", "560000.00", "56000.00")]
    assert items[0]["checklist_items"] == list(listings.CHECKLIST) and items[0]["checklist"] == {}
    session.refresh(two.loan)
    assert two.loan.status.value == "in_disposal" and audits(session, "loan.in_disposal", "loan", two.loan.id) == 1
    assert all(audits(session, "listing.created", "listing", x["id"]) == 1 for x in items)
    again = client.post(url, json=both, headers=staff)
    assert again.status_code == 409 and again.get_json()["error"]["message"]
    assert len(listings_of(session, two.loan.id)) == 2
    assert client.get("/api/v1/disposal/loans", headers=staff).get_json()["items"] == []


def test_a_loan_not_in_default_cannot_be_listed(client, session, factory):
    from tests.factories import confirmed_loan, make_asset

    d = Defaulted(session, factory)
    asset = make_asset(session, d.enterprise, filing_date=date(2017, 5, 2))
    loan = confirmed_loan(session, d.bank_user, d.enterprise, principal=D("100000"),
                     annual_rate=D("0.05"), term_months=6, asset_ids=[asset.id], signed_on=NOW.date(), now=NOW,
                     registration_number="R1")
    session.commit()
    r = client.post(f"/api/v1/disposal/loans/{loan.id}/listings",
                    json={"valuations": [{"asset_id": asset.id, "amount": "100000"}]}, headers=bearer(session, d.staff))
    assert r.status_code == 409 and listings_of(session, loan.id) == []


@pytest.fixture
def listed(client, session, two):
    staff = bearer(session, two.staff)
    first, second = two.assets
    body = {"valuations": [{"asset_id": first.id, "amount": "1000000"}, {"asset_id": second.id, "amount": "800000"}]}
    items = client.post(f"/api/v1/disposal/loans/{two.loan.id}/listings", json=body, headers=staff).get_json()["items"]
    return two, staff, [session.get(Listing, x["id"]) for x in items]


def test_review_needs_the_whole_checklist_and_keeps_nothing_on_refusal(client, session, factory, listed):
    d, staff, (lot, _other) = listed
    url = f"/api/v1/disposal/listings/{lot.id}/review"
    partial = {**CHECKED, "parties_notified": False}
    r = client.post(url, json={"checklist": partial, "decision": "approve", "note": "x"}, headers=staff)
    assert r.status_code == 422 and r.get_json()["error"]["message"]
    session.refresh(lot)
    assert lot.status is ListingStatus.UNDER_REVIEW and lot.checklist == {} and lot.review_note is None
    r = client.post(url, json={"checklist": {"no_such_item": True}, "decision": "approve"}, headers=staff)
    assert r.status_code == 422
    assert client.post(url, json={"checklist": CHECKED, "decision": "maybe"}, headers=staff).status_code == 422
    assert client.post(url, json={"checklist": CHECKED, "decision": "approve"},
                       headers=bearer(session, d.bank_user)).status_code == 403
    r = client.post(url, json={"checklist": CHECKED, "decision": "approve", "note": "ok"}, headers=staff)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "announced" and body["checklist"] == CHECKED and body["review_note"] == "ok"
    assert audits(session, "listing.announced", "listing", lot.id) == 1
    # now public; the desk view is for staff and the author only
    assert client.get(f"/api/v1/listings/{lot.id}").status_code == 200
    assert client.get(f"/api/v1/disposal/listings/{lot.id}", headers=staff).get_json()["status"] == "announced"
    assert client.get(f"/api/v1/disposal/listings/{lot.id}",
                      headers=bearer(session, factory.user(Role.BIDDER))).status_code == 404
    again = client.post(url, json={"checklist": CHECKED, "decision": "approve"}, headers=staff)
    assert again.status_code == 409


def test_return_to_author_and_resubmit(client, session, listed):
    _d, staff, (lot, _other) = listed
    r = client.post(f"/api/v1/disposal/listings/{lot.id}/review",
                    json={"checklist": {}, "decision": "return", "note": "valuation date missing"}, headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "draft"
    assert client.get(f"/api/v1/listings/{lot.id}").status_code == 404  # a draft is not public
    r = client.post(f"/api/v1/disposal/listings/{lot.id}/submit", headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "under_review"
    staff_list = client.get("/api/v1/disposal/listings?status=under_review", headers=staff).get_json()
    assert lot.id in [x["id"] for x in staff_list["items"]]
    assert client.get("/api/v1/disposal/listings?status=nonsense", headers=staff).status_code == 422


def test_objections_dismissed_then_upheld(client, session, factory, listed):
    _d, staff, (lot, _other) = listed
    client.post(f"/api/v1/disposal/listings/{lot.id}/review", json={"checklist": CHECKED, "decision": "approve"},
                headers=staff)
    objector = factory.user(Role.BIDDER)
    mine = bearer(session, objector)
    url = f"/api/v1/listings/{lot.id}/objections"
    assert client.post(url, json={"reason": "no"}, headers=mine).status_code == 422
    r = client.post(url, json={"reason": "The patent was licensed exclusively to us in 2019."}, headers=mine)
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert first["status"] == "open" and first["user_id"] == objector.id
    assert audits(session, "listing.objection_filed", "listing", lot.id) == 1
    open_ = client.get("/api/v1/disposal/objections", headers=staff).get_json()["items"]
    assert [o["id"] for o in open_] == [first["id"]]
    assert client.get("/api/v1/disposal/objections", headers=mine).status_code == 403
    resolve = f"/api/v1/disposal/objections/{first['id']}/resolve"
    assert client.post(resolve, json={"decision": "dismiss"}, headers=mine).status_code == 403
    assert client.post(resolve, json={"decision": "ignore"}, headers=staff).status_code == 422
    r = client.post(resolve, json={"decision": "dismiss", "note": "licence expired"}, headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "dismissed"
    assert client.post(resolve, json={"decision": "uphold"}, headers=staff).status_code == 409
    session.refresh(lot)
    assert lot.status is ListingStatus.ANNOUNCED
    second = client.post(url, json={"reason": "We co-own this patent and were not told."}, headers=mine).get_json()
    r = client.post(f"/api/v1/disposal/objections/{second['id']}/resolve", json={"decision": "uphold"}, headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "upheld"
    session.refresh(lot)
    assert lot.status is ListingStatus.CANCELLED
    assert client.get("/api/v1/disposal/objections?status=all", headers=staff).get_json()["items"][0]["id"] == \
        first["id"]
    assert client.post("/api/v1/disposal/objections/987654/resolve", json={"decision": "uphold"},
                       headers=staff).status_code == 404


def test_cancel_by_staff_only(client, session, factory, listed):
    _d, staff, (lot, _other) = listed
    url = f"/api/v1/disposal/listings/{lot.id}/cancel"
    assert client.post(url, json={}, headers=bearer(session, factory.user(Role.BIDDER))).status_code == 403
    r = client.post(url, json={"note": "settled out of court"}, headers=staff)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert audits(session, "listing.cancelled", "listing", lot.id) == 1
    assert client.post(url, json={}, headers=staff).status_code == 409


def _shift_into_the_past(session, listing, hours_ago: int = 30):
    """Move an announced lot's clock back so that, on the real clock, bidding has been open for a while."""
    start = utcnow().replace(microsecond=0) - timedelta(hours=hours_ago)
    listing.notice_starts_at = start - timedelta(days=30)
    listing.bidding_starts_at = start
    listing.scheduled_ends_at = listing.ends_at = start + timedelta(hours=24)
    session.commit()
    clock.tick(session, start)
    return start


def test_settlement_hands_the_recovery_to_the_claim(client, session, factory):
    d = Defaulted(session, factory)
    session.commit()
    staff = bearer(session, d.staff)
    asset = d.assets[0]
    made = client.post(f"/api/v1/disposal/loans/{d.loan.id}/listings",
                       json={"valuations": [{"asset_id": asset.id, "amount": "1000000"}]}, headers=staff).get_json()
    lot = session.get(Listing, made["items"][0]["id"])
    client.post(f"/api/v1/disposal/listings/{lot.id}/review", json={"checklist": CHECKED, "decision": "approve"},
                headers=staff)
    start = _shift_into_the_past(session, lot)
    winner, loser = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
    # on the grid: the starting price, then 2 × the 7,000 increment above it
    for user, amount in ((loser, D("700000")), (winner, D("714000"))):
        session.commit()
        deposits.pay_deposit(session, user, lot.id, start + timedelta(minutes=1))
        assert bidding.place_bid(session, user, lot.id, amount, start + timedelta(minutes=2)).accepted
    clock.tick(session, utcnow())
    session.commit()
    session.refresh(lot)
    assert lot.status is ListingStatus.SOLD
    url = f"/api/v1/auctions/{lot.id}/payment"
    r = client.post(url, headers=bearer(session, loser))
    assert r.status_code == 403
    session.refresh(lot)
    assert lot.status is ListingStatus.SOLD and lot.paid_at is None
    r = client.post(url, headers=bearer(session, winner))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "settled" and body["sale_price"] == "714000.00" and body["asset_id"] == asset.id
    assert body["claim_id"] is not None
    claim = client.get(f"/api/v1/claims/{body['claim_id']}", headers=bearer(session, d.bank_user)).get_json()
    assert claim["recovery"] == "714000.00" and claim["loss"] == "3286000.00"
    assert claim["compensation"] == "985800.00"  # 30 % of the loss, under the ¥1,500,000 cap
    assert audits(session, "listing.settled", "listing", lot.id) == 1
    assert client.post(url, headers=bearer(session, winner)).status_code == 409
    desk = client.get(f"/api/v1/disposal/listings/{lot.id}", headers=staff).get_json()
    assert sorted(x["status"] for x in desk["deposits"]) == ["applied", "refunded"]
    assert desk["winner_code"] == next(x["code"] for x in desk["deposits"] if x["bidder_id"] == winner.id)


def test_failed_lot_reauction_then_fixed_price_then_end(client, session, factory):
    d = Defaulted(session, factory)
    session.commit()
    staff = bearer(session, d.staff)
    made = client.post(f"/api/v1/disposal/loans/{d.loan.id}/listings",
                       json={"valuations": [{"asset_id": d.assets[0].id, "amount": "1000000"}]},
                       headers=staff).get_json()
    lot = session.get(Listing, made["items"][0]["id"])
    client.post(f"/api/v1/disposal/listings/{lot.id}/review", json={"checklist": CHECKED, "decision": "approve"},
                headers=staff)
    _shift_into_the_past(session, lot)
    clock.tick(session, utcnow())  # no bid: failed
    session.commit()
    session.refresh(lot)
    assert lot.status is ListingStatus.FAILED
    now = utcnow().replace(microsecond=0)
    notice = now + timedelta(hours=1)
    terms = {"starting_price": "560000", "increment": "5000", "deposit_amount": "56000",
             "notice_starts_at": notice.isoformat() + "Z",
             "bidding_starts_at": (notice + timedelta(days=15)).isoformat() + "+00:00",
             "ends_at": (notice + timedelta(days=16)).isoformat()}  # no offset: taken as UTC
    url = f"/api/v1/disposal/listings/{lot.id}/reauction"
    count = session.scalar(select(func.count()).select_from(Listing))
    too_low = client.post(url, json={**terms, "starting_price": "500000", "deposit_amount": "50000"}, headers=staff)
    assert too_low.status_code == 422 and too_low.get_json()["error"]["message"]
    assert client.post(url, json={**terms, "ends_at": "9999-01-01T00:00:00Z"}, headers=staff).status_code == 422
    assert client.post(url, json=terms, headers=bearer(session, d.bank_user)).status_code == 403
    assert session.scalar(select(func.count()).select_from(Listing)) == count
    assert client.post(f"/api/v1/disposal/listings/{lot.id}/fixed-price", headers=staff).status_code == 409
    r = client.post(url, json=terms, headers=staff)
    assert r.status_code == 201, r.get_json()
    second = r.get_json()
    assert second["round"] == 2 and second["status"] == "announced" and second["previous_id"] == lot.id
    assert second["starting_price"] == "560000.00"
    assert second["bidding_starts_at"] == (notice + timedelta(days=15)).isoformat() + "+00:00"
    assert second["ends_at"] == (notice + timedelta(days=16)).isoformat() + "+00:00"
    assert client.post(url, json=terms, headers=staff).status_code == 409  # one follow-up only
    # the disposal cannot end while the re-auction is open
    end = f"/api/v1/disposal/loans/{d.loan.id}/end"
    assert client.post(end, headers=staff).status_code == 409
    relot = session.get(Listing, second["id"])
    _shift_into_the_past(session, relot)
    clock.tick(session, utcnow())
    session.commit()
    r = client.post(f"/api/v1/disposal/listings/{relot.id}/fixed-price", headers=staff)
    assert r.status_code == 201, r.get_json()
    fixed = r.get_json()
    assert fixed["kind"] == "fixed_price" and fixed["status"] == "bidding" and fixed["round"] == 3
    assert fixed["starting_price"] == "560000.00"
    client.post(f"/api/v1/disposal/listings/{fixed['id']}/cancel", json={"note": "no buyer wanted"}, headers=staff)
    assert client.post(end, headers=bearer(session, d.bank_user)).status_code == 403
    r = client.post(end, headers=staff)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["claim_id"] is not None
    claim = client.get(f"/api/v1/claims/{r.get_json()['claim_id']}", headers=staff).get_json()
    assert claim["recovery"] == "0.00" and claim["compensation"] == "1200000.00"
    assert audits(session, "listing.disposal_ended", "listing", fixed["id"]) == 1


def test_my_deposits_and_ledger(client, session, factory):
    listing, _who = build_lot(session, factory, start=utcnow().replace(microsecond=0) - timedelta(hours=1), hours=25)
    session.commit()
    me, other = factory.user(Role.BIDDER), factory.user(Role.BIDDER)
    mine = bearer(session, me)
    assert client.get("/api/v1/deposits", headers=mine).get_json() == {"deposits": [], "ledger": []}
    paid = client.post(f"/api/v1/auctions/{listing.id}/deposits", json=ACCEPT, headers=mine).get_json()
    body = client.get("/api/v1/deposits", headers=mine).get_json()
    assert [(x["listing_id"], x["code"], x["amount"], x["status"]) for x in body["deposits"]] == [
        (listing.id, paid["code"], "70000.00", "held")]
    assert [(x["entry"], x["amount"]) for x in body["ledger"]] == [("deposit_paid", "70000.00")]
    assert client.get("/api/v1/deposits", headers=bearer(session, other)).get_json()["deposits"] == []
    assert client.get("/api/v1/deposits").status_code == 401


def test_objection_refused_once_bidding_started_keeps_nothing(client, session, factory):
    listing, _who = build_lot(session, factory, start=utcnow().replace(microsecond=0) - timedelta(hours=1), hours=25)
    session.commit()
    r = client.post(f"/api/v1/listings/{listing.id}/objections", json={"reason": "Too late to object, surely."},
                    headers=bearer(session, factory.user(Role.BIDDER)))
    assert r.status_code == 409 and r.get_json()["error"]["message"]
    assert session.scalar(select(func.count()).select_from(Objection).where(Objection.listing_id == listing.id)) == 0


@pytest.mark.parametrize("amount", ["1e40", 1e300, "1e16", "710000.001"])
def test_bid_beyond_what_the_ledger_holds_is_422(client, session, factory, amount):
    from market.exchange.models import Bid

    listing, _who = build_lot(session, factory, start=utcnow().replace(microsecond=0) - timedelta(hours=1), hours=25)
    session.commit()
    headers = bearer(session, factory.user(Role.BIDDER))
    assert client.post(f"/api/v1/auctions/{listing.id}/deposits", json=ACCEPT, headers=headers).status_code == 201
    r = client.post(f"/api/v1/auctions/{listing.id}/bids", json={"amount": amount}, headers=headers)
    assert r.status_code == 422 and "amount" in r.get_json()["error"]["details"]["json"], r.get_json()
    session.refresh(listing)
    assert listing.current_price is None
    assert session.scalar(select(func.count()).select_from(Bid).where(Bid.listing_id == listing.id)) == 0


def test_owner_lists_its_own_asset_voluntarily(client, session, factory):
    from tests.factories import make_asset

    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation, filing_date=date(2017, 5, 2))
    session.commit()
    notice = utcnow().replace(microsecond=0, minute=0) + timedelta(hours=1)
    body = {"asset_id": asset.id, "kind": "licence", "valuation": "2000000", "starting_price": "1400000",
            "increment": "10000", "deposit_amount": "140000", "notice_starts_at": notice.isoformat() + "Z",
            "bidding_starts_at": (notice + timedelta(days=30)).isoformat() + "Z",
            "ends_at": (notice + timedelta(days=31)).isoformat() + "Z",
            "licence": {"exclusive": False, "territory": "重庆市", "term_months": 36, "royalty": "0.025"}}
    mine = bearer(session, owner)
    count = session.scalar(select(func.count()).select_from(Listing))
    low = client.post("/api/v1/disposal/listings", json={**body, "starting_price": "1000000"}, headers=mine)
    assert low.status_code == 422 and low.get_json()["error"]["message"]
    short = client.post("/api/v1/disposal/listings", json={**body, "bidding_starts_at": body["notice_starts_at"]},
                        headers=mine)
    assert short.status_code == 422
    stranger = bearer(session, factory.user(Role.ENTERPRISE))
    assert client.post("/api/v1/disposal/listings", json=body, headers=stranger).status_code == 403
    assert client.post("/api/v1/disposal/listings", json=body,
                       headers=bearer(session, factory.user(Role.BANK))).status_code == 403
    assert client.post("/api/v1/disposal/listings", json={**body, "asset_id": 987654}, headers=mine).status_code == 404
    assert session.scalar(select(func.count()).select_from(Listing)) == count
    r = client.post("/api/v1/disposal/listings", json=body, headers=mine)
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert (made["status"], made["kind"], made["source"], made["owner_org_id"]) == (
        "under_review", "licence", "voluntary", owner.organisation_id)
    assert made["notice_starts_at"] == notice.isoformat() + "+00:00"
    assert made["licence"] == {"exclusive": False, "territory": "重庆市", "term_months": 36, "royalty": "0.025000"}
    assert audits(session, "listing.created", "listing", made["id"]) == 1
    assert audits(session, "listing.under_review", "listing", made["id"]) == 1
    # the author sees it on the desk; another enterprise does not
    assert client.get(f"/api/v1/disposal/listings/{made['id']}", headers=mine).status_code == 200
    assert client.get(f"/api/v1/disposal/listings/{made['id']}", headers=stranger).status_code == 404
    again = client.post("/api/v1/disposal/listings", json=body, headers=mine)
    assert again.status_code == 409


def test_asset_id_no_column_can_hold_is_422(client, session, two):
    r = client.post(f"/api/v1/disposal/loans/{two.loan.id}/listings",
                    json={"valuations": [{"asset_id": 2**40, "amount": "1000"}]}, headers=bearer(session, two.staff))
    assert r.status_code == 422 and listings_of(session, two.loan.id) == []
    assert client.get("/api/v1/disposal/listings?loan_id=-99999999999",
                      headers=bearer(session, two.staff)).status_code == 422


def test_the_desk_filters_listings_by_loan(client, session, two):
    """`loan_id` arrives as text in the query string (it was refused as "Not a valid integer" before)."""
    staff = bearer(session, two.staff)
    body = {"valuations": [{"asset_id": a.id, "amount": "1000000"} for a in two.assets]}
    made = client.post(f"/api/v1/disposal/loans/{two.loan.id}/listings", json=body, headers=staff).get_json()
    r = client.get(f"/api/v1/disposal/listings?loan_id={two.loan.id}", headers=staff)
    assert r.status_code == 200, r.get_json()
    assert sorted(x["id"] for x in r.get_json()["items"]) == sorted(x["id"] for x in made["items"])
    assert all(x["loan_id"] == two.loan.id for x in r.get_json()["items"])
