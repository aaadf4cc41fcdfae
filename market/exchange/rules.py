"""Disposal-auction rules as pure functions (no database): terms, minimum bids, late-bid extension, ties, re-auction.

Numbers follow the Supreme People's Court online judicial auction rules (2016), see DESIGN.md "Disposal auctions".

Pre-emption (优先购买权) — exactly how a tie works here: a holder of a pre-emption right (co-owner, exclusive
licensee) may bid an amount *equal to* the current highest bid, provided the current leader holds no pre-emption
right; that bid is accepted and the holder becomes the leader at the same price. Anyone else (including another
pre-emption holder once a holder leads) must then bid at least the current price plus the increment. Before the first
bid everybody, holder or not, needs the starting price. A matching bid counts as a bid: in the last five minutes it
extends the end like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

MIN_START_RATIO = Decimal("0.70")  # starting price (reserve) >= 70 % of the valuation
DEPOSIT_MIN_RATIO = Decimal("0.05")
DEPOSIT_MAX_RATIO = Decimal("0.20")
NOTICE_DAYS = 30  # property rights such as IP
REAUCTION_NOTICE_DAYS = 15
MIN_BIDDING = timedelta(hours=24)
EXTENSION = timedelta(minutes=5)
REAUCTION_MAX_DISCOUNT = Decimal("0.20")  # a re-auction starts at most 20 % below the failed one
REAUCTION_WITHIN = timedelta(days=30)
FIXED_PRICE_SALE = timedelta(days=60)  # 变卖 after a failed re-auction
PAYMENT_PERIOD = timedelta(days=10)  # the winner's deadline to pay the balance
RULES_VERSION = "spc-online-judicial-auction-2016"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Terms:
    valuation: Decimal
    starting_price: Decimal
    increment: Decimal
    deposit: Decimal
    notice_starts_at: datetime
    bidding_starts_at: datetime
    ends_at: datetime


def check_terms(terms: Terms, failed_starting_price: Decimal | None = None) -> list[str]:
    """Problems with a listing's terms as English msgids (empty when valid).

    A first auction needs a starting price of at least 70 % of the valuation and a 30-day notice; a re-auction
    (`failed_starting_price` given) instead needs a starting price between 80 % and 100 % of the failed one and a
    15-day notice.
    """
    problems = []
    if terms.valuation <= 0:
        problems.append("The valuation must be positive.")
    if failed_starting_price is None:
        if terms.starting_price < (terms.valuation * MIN_START_RATIO).quantize(CENT, ROUND_CEILING):
            problems.append("The starting price must be at least 70% of the valuation.")
        notice_days = NOTICE_DAYS
    else:
        low, high = reauction_price_bounds(failed_starting_price)
        if not low <= terms.starting_price <= high:
            problems.append("A re-auction must start at most 20% below the failed auction's starting price.")
        notice_days = REAUCTION_NOTICE_DAYS
    if terms.starting_price <= 0:
        problems.append("The starting price must be positive.")
    low, high = deposit_bounds(terms.starting_price)
    if not low <= terms.deposit <= high:
        problems.append("The deposit must be between 5% and 20% of the starting price.")
    if terms.increment <= 0:
        problems.append("The increment must be positive.")
    if terms.bidding_starts_at - terms.notice_starts_at < timedelta(days=notice_days):
        if failed_starting_price is None:
            problems.append("The notice period must be at least 30 days.")
        else:
            problems.append("The notice period of a re-auction must be at least 15 days.")
    if terms.ends_at - terms.bidding_starts_at < MIN_BIDDING:
        problems.append("Bidding must last at least 24 hours.")
    return problems


def deposit_bounds(starting_price: Decimal) -> tuple[Decimal, Decimal]:
    return ((starting_price * DEPOSIT_MIN_RATIO).quantize(CENT, ROUND_CEILING),
            (starting_price * DEPOSIT_MAX_RATIO).quantize(CENT))


def reauction_price_bounds(failed_starting_price: Decimal) -> tuple[Decimal, Decimal]:
    """Lowest and highest starting price of a re-auction after a failed auction."""
    low = (failed_starting_price * (1 - REAUCTION_MAX_DISCOUNT)).quantize(CENT, ROUND_CEILING)
    return low, failed_starting_price


def next_min_bid(starting_price: Decimal, increment: Decimal, current_price: Decimal | None,
                 preemption: bool = False, leader_has_preemption: bool = False) -> Decimal:
    """The least amount the next bid may have; a pre-emption holder may match a leader who holds no such right."""
    if current_price is None:
        return starting_price
    if preemption and not leader_has_preemption:
        return current_price
    return current_price + increment


class BidVerdict:
    ACCEPTED = "accepted"
    NOT_OPEN = "not_open"  # 409: the lot is announced, bidding has not opened yet
    CLOSED = "closed"  # 409
    OUTBID = "outbid"  # 409: the amount does not beat (or, for a holder, match) the current highest bid
    TOO_LOW = "too_low"  # 422: above the current price but below the minimum (increment, starting price)
    OFF_GRID = "off_grid"  # 422: high enough but not on the increment grid


def on_grid(amount: Decimal, starting_price: Decimal, increment: Decimal, current_price: Decimal | None) -> bool:
    """Bids lie on the grid: the starting price (plus whole increments) for the first bid, then the current price
    plus k × increment (k ≥ 1; k = 0 is a pre-emption holder's matching bid, which `next_min_bid` admits)."""
    base = starting_price if current_price is None else current_price
    return increment > 0 and (amount - base) % increment == 0


def grid_neighbours(amount: Decimal, starting_price: Decimal, increment: Decimal,
                    current_price: Decimal | None) -> tuple[Decimal, Decimal]:
    """The valid bids just below and just above an off-grid `amount` (for the refusal's message)."""
    base = starting_price if current_price is None else current_price
    steps = (amount - base) // increment
    return base + steps * increment, base + (steps + 1) * increment


def judge_bid(amount: Decimal, *, starting_price: Decimal, increment: Decimal, current_price: Decimal | None,
              ends_at: datetime, now: datetime, preemption: bool = False, leader_has_preemption: bool = False) -> str:
    """Accepted, closed, outbid, too low or off the grid, for a bid of `amount` arriving at server time `now`."""
    if now >= ends_at:
        return BidVerdict.CLOSED
    minimum = next_min_bid(starting_price, increment, current_price, preemption, leader_has_preemption)
    if amount >= minimum:
        return BidVerdict.ACCEPTED if on_grid(amount, starting_price, increment, current_price) else BidVerdict.OFF_GRID
    if current_price is not None and amount <= current_price:
        return BidVerdict.OUTBID
    return BidVerdict.TOO_LOW


def published_schedule(notice_starts_at: datetime, bidding_starts_at: datetime, ends_at: datetime,
                       published_at: datetime, notice_days: int = NOTICE_DAYS) -> tuple[datetime, datetime, datetime]:
    """The schedule of a lot announced at `published_at` (the server's time): the notice counts from publication,
    never from an earlier typed date, so bidding opens no earlier than `published_at` + `notice_days` (30, or 15 for
    a re-auction). A schedule typed too early moves later whole, keeping its bidding time; one that already leaves
    the full notice stays as typed. Returns (notice_starts_at, bidding_starts_at, ends_at)."""
    earliest = published_at + timedelta(days=notice_days)
    shift = max(earliest - bidding_starts_at, timedelta(0))
    return published_at, bidding_starts_at + shift, ends_at + shift


def extended_end(ends_at: datetime, now: datetime) -> datetime:
    """The end after a bid accepted at `now`: five minutes after the bid when it came in the last five minutes."""
    if now >= ends_at:
        raise ValueError("bid after the close")
    return max(ends_at, now + EXTENSION)


def reauction_deadline(failed_at: datetime) -> datetime:
    return failed_at + REAUCTION_WITHIN


def fixed_price_window(starts_at: datetime) -> tuple[datetime, datetime]:
    return starts_at, starts_at + FIXED_PRICE_SALE


def payment_deadline(closed_at: datetime) -> datetime:
    return closed_at + PAYMENT_PERIOD


def remaining_term_end(kind: str, filing_date, grant_date=None):
    """Statutory end of a patent term (from filing: invention 20 y, utility model 10 y, design 15 y), else None."""
    years = {"invention": 20, "utility_model": 10, "design": 15}.get(kind)
    if years is None or filing_date is None:
        return None
    try:
        return filing_date.replace(year=filing_date.year + years)
    except ValueError:  # 29 February
        return filing_date.replace(year=filing_date.year + years, day=28)


def bidder_code(secret: str, listing_id: int, user_id: int, attempt: int = 0) -> str:
    """A per-listing pseudonym such as "A3F2" (the caller retries with the next `attempt` on a collision)."""
    import hashlib

    digest = hashlib.sha256(f"{secret}:{listing_id}:{user_id}:{attempt}".encode()).hexdigest()
    return digest[:4].upper()


HOLDER_NOTICE = timedelta(days=3)  # parties and pre-emption holders are told >= 3 days before the announcement


def told_in_time(told_at: datetime | None, announced_at: datetime) -> bool:
    """Whether someone told at `told_at` was told at least three days before an announcement at `announced_at`."""
    return told_at is not None and told_at <= announced_at - HOLDER_NOTICE
