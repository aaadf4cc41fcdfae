from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest

from market.exchange import rules
from market.exchange.rules import BidVerdict, Terms, check_terms, extended_end, judge_bid, next_min_bid

T0 = datetime(2026, 11, 1, 9, 0)


def terms(**kw) -> Terms:
    base = dict(valuation=D("1000000"), starting_price=D("700000"), increment=D("10000"), deposit=D("70000"),
                notice_starts_at=T0, bidding_starts_at=T0 + timedelta(days=30),
                ends_at=T0 + timedelta(days=31))
    base.update(kw)
    return Terms(**base)


def test_valid_terms():
    assert check_terms(terms()) == []


@pytest.mark.parametrize("field, value, problem", [
    ("starting_price", D("699999.99"), "at least 70%"),
    ("deposit", D("34999.99"), "between 5% and 20%"),
    ("deposit", D("140000.01"), "between 5% and 20%"),
    ("increment", D("0"), "increment must be positive"),
    ("bidding_starts_at", T0 + timedelta(days=29, hours=23), "at least 30 days"),
    ("ends_at", T0 + timedelta(days=31) - timedelta(seconds=1), "at least 24 hours"),
])
def test_invalid_terms(field, value, problem):
    problems = check_terms(terms(**{field: value}))
    assert len(problems) == 1 and problem in problems[0]


def test_deposit_bounds_inclusive():
    assert check_terms(terms(deposit=D("35000"))) == []
    assert check_terms(terms(deposit=D("140000"))) == []


def test_reauction_price_bound_and_shorter_notice():
    failed = D("700000")
    ok = terms(starting_price=D("560000"), deposit=D("56000"), bidding_starts_at=T0 + timedelta(days=15),
               ends_at=T0 + timedelta(days=16))
    assert check_terms(ok, failed_starting_price=failed) == []  # 80 % of the failed price, below 70 % of valuation
    too_low = terms(starting_price=D("559999.99"), deposit=D("56000"), bidding_starts_at=T0 + timedelta(days=15),
                    ends_at=T0 + timedelta(days=16))
    assert any("20%" in p for p in check_terms(too_low, failed_starting_price=failed))
    higher = terms(starting_price=D("700000.01"), deposit=D("70000"))
    assert any("20%" in p for p in check_terms(higher, failed_starting_price=failed))
    short = terms(starting_price=D("600000"), deposit=D("60000"), bidding_starts_at=T0 + timedelta(days=14),
                  ends_at=T0 + timedelta(days=15))
    assert any("15 days" in p for p in check_terms(short, failed_starting_price=failed))
    assert rules.reauction_price_bounds(D("999.99")) == (D("800.00"), D("999.99"))


def test_next_min_bid():
    assert next_min_bid(D("100"), D("10"), None) == D("100")
    assert next_min_bid(D("100"), D("10"), None, preemption=True) == D("100")
    assert next_min_bid(D("100"), D("10"), D("120")) == D("130")
    assert next_min_bid(D("100"), D("10"), D("120"), preemption=True) == D("120")
    assert next_min_bid(D("100"), D("10"), D("120"), preemption=True, leader_has_preemption=True) == D("130")


def test_extension_at_4_59_moves_end_one_second_and_again():
    end = datetime(2026, 12, 1, 12, 0)
    first = end - timedelta(minutes=4, seconds=59)
    new_end = extended_end(end, first)
    assert new_end == end + timedelta(seconds=1)
    second = new_end - timedelta(seconds=30)
    assert extended_end(new_end, second) == second + timedelta(minutes=5)
    assert extended_end(end, end - timedelta(minutes=5, seconds=1)) == end  # earlier bids do not move it
    with pytest.raises(ValueError):
        extended_end(end, end)


def test_judge_bid():
    end = datetime(2026, 12, 1, 12, 0)
    kw = dict(starting_price=D("100"), increment=D("10"), ends_at=end, now=end - timedelta(hours=1))
    assert judge_bid(D("99.99"), current_price=None, **kw) == BidVerdict.TOO_LOW
    assert judge_bid(D("100"), current_price=None, **kw) == BidVerdict.ACCEPTED
    assert judge_bid(D("120"), current_price=D("120"), **kw) == BidVerdict.OUTBID
    assert judge_bid(D("125"), current_price=D("120"), **kw) == BidVerdict.TOO_LOW
    assert judge_bid(D("130"), current_price=D("120"), **kw) == BidVerdict.ACCEPTED
    assert judge_bid(D("120"), current_price=D("120"), preemption=True, **kw) == BidVerdict.ACCEPTED
    assert judge_bid(D("500"), current_price=D("120"), **{**kw, "now": end}) == BidVerdict.CLOSED


def test_dates_and_codes():
    assert rules.fixed_price_window(T0)[1] - T0 == timedelta(days=60)
    assert rules.remaining_term_end("utility_model", datetime(2016, 2, 29).date()).isoformat() == "2026-02-28"
    assert rules.remaining_term_end("trademark", T0.date()) is None
    code = rules.bidder_code("s", 1, 2)
    assert len(code) == 4 and code == rules.bidder_code("s", 1, 2) != rules.bidder_code("s", 1, 2, 1)
