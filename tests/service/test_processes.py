"""Several server processes behind one market: two `market serve` processes on one PostgreSQL with Redis as the
shared rate-limit store, bids sent to both at once; `market serve --workers 2` (gunicorn) serving from two
processes with the clocks running in them."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from market.accounts.models import Role
from market.clock import ClockRun
from market.db import db
from market.exchange import deposits
from market.exchange.models import Bid, Listing, ListingStatus
from tests.conftest import PASSWORD, PG_URL, Factory, in_threads, missing_service
from tests.factories import build_lot
from tests.service.helpers import Server, redis_url, wall_now


def _postgresql() -> str:
    if not PG_URL:
        missing_service("MARKET_TEST_POSTGRESQL_URL is not set")
    return PG_URL


def _live_lot(app, bidders: int, *, ends_in: float | None = None) -> tuple[int, list[str]]:
    """A lot in bidding by the real clock (ending in a day, or in `ends_in` seconds) and bidders with deposits."""
    now = wall_now().replace(microsecond=0)
    with app.app_context():
        s = db.session
        factory = Factory(s)
        start = now - timedelta(hours=1) if ends_in is None else now - timedelta(hours=24, seconds=-ends_in)
        listing, _who = build_lot(s, factory, start=start, hours=25 if ends_in is None else 24)
        people = [factory.user(Role.BIDDER) for _ in range(bidders)]
        for person in people:
            deposits.pay_deposit(s, person, listing, start + timedelta(seconds=1))
        s.commit()
        assert listing.status is ListingStatus.BIDDING
        return listing.id, [p.email for p in people]


def _at_once(calls) -> list[int]:
    """POST every (server, path, body, token) from its own thread, all released together: the status codes."""
    barrier = threading.Barrier(len(calls))
    codes: list[int | None] = [None] * len(calls)

    def send(i, server, path, body, token):
        barrier.wait(10)
        codes[i] = server.request("POST", path, body, token)[0]

    in_threads(send, [(i, *call) for i, call in enumerate(calls)], timeout=60)
    return codes


def test_two_server_processes_on_one_postgresql(make_app, tmp_path):
    app = make_app(url=_postgresql())
    redis = redis_url()
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    listing_id, emails = _live_lot(app, 3)
    env = {"MARKET_RATELIMIT_STORAGE_URI": redis, "MARKET_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
           "MARKET_BID_RATE_LIMIT": "4 per minute"}
    servers = [Server(database, env=env, tmp_path=tmp_path) for _ in range(2)]
    try:
        for server in servers:
            server.wait_up()
        tokens = []
        for email in emails:
            status, body = servers[0].json("POST", "/api/v1/tokens", {"email": email, "password": PASSWORD})
            assert status == 201, body
            tokens.append(body["token"])
        path = f"/api/v1/auctions/{listing_id}/bids"
        # Four rounds: the three bidders offer the same next minimum bid at the same moment, spread over both
        # processes (each bidder alternates between them): one bid per round is accepted, the others are outbid.
        for rnd in range(4):
            status, state = servers[rnd % 2].json("GET", f"/api/v1/auctions/{listing_id}")
            assert status == 200 and state["status"] == "bidding", state
            codes = _at_once([(servers[(i + rnd) % 2], path, {"amount": str(state["next_min_bid"])}, token)
                              for i, token in enumerate(tokens)])
            assert sorted(codes) == [201, 409, 409], (rnd, codes)
        # Each bidder has now sent 4 bids, 2 to each process. The limit is 4 per minute counted across both
        # processes (in Redis): the fifth is refused by whichever process gets it. Counted per process, each would
        # have seen 2 and let it through.
        status, state = servers[0].json("GET", f"/api/v1/auctions/{listing_id}")
        codes = _at_once([(servers[i % 2], path, {"amount": str(state["next_min_bid"])}, token)
                          for i, token in enumerate(tokens)])
        assert codes == [429, 429, 429], codes
        # Both processes show the same lot.
        seen = [server.json("GET", f"/api/v1/auctions/{listing_id}")[1] for server in servers]
        assert seen[0]["current_price"] == seen[1]["current_price"] == state["current_price"]
        # Both run the clocks; the lock lets one of them run each pass; both are ready.
        for server in servers:
            status, ready = server.json("GET", "/readyz")
            assert status == 200 and ready["scheduler"]["running"], (ready, server.tail())
    finally:
        for server in servers:
            server.stop()

    with app.app_context():
        bids = db.session.scalars(select(Bid).where(Bid.listing_id == listing_id).order_by(Bid.id)).all()
        accepted = [b for b in bids if b.accepted]
        assert len(bids) == 12 and len(accepted) == 4  # every bid kept, the 429s wrote nothing
        amounts = [b.amount for b in accepted]
        assert amounts == sorted(set(amounts)) and amounts[0] == Decimal("700000")  # strictly increasing
        assert all(b.amount <= accepted[-1].amount for b in bids)
        lot = db.session.get(Listing, listing_id)
        assert lot.current_price == amounts[-1] and lot.leader_id == accepted[-1].bidder_id
        assert lot.bid_count == 4
        pids = {str(server.proc.pid) for server in servers}
        assert db.session.get(ClockRun, "auctions").holder.split(":")[-1] in pids


def test_serve_with_two_workers(make_app, tmp_path):
    """gunicorn with two worker processes behind one port: both answer, and their clocks close an ended lot."""
    app = make_app(url=_postgresql())
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    server = Server(database, "--workers", "2", "--threads", "2", tmp_path=tmp_path,
                    env={"MARKET_RATELIMIT_STORAGE_URI": redis_url(),
                         "MARKET_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    try:
        server.wait_up()
        listing_id, _emails = _live_lot(app, 0, ends_in=2)
        pids = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(server.json("GET", "/healthz")[1]["pid"])
        assert len(pids) == 2 and server.proc.pid not in pids, pids  # two workers, not the arbiter
        deadline = time.monotonic() + 15
        while server.json("GET", f"/api/v1/auctions/{listing_id}")[1]["status"] == "bidding":
            assert time.monotonic() < deadline, "the workers' clocks did not close the lot"
            time.sleep(0.25)
        assert server.json("GET", f"/api/v1/auctions/{listing_id}")[1]["status"] == "failed"  # no bid
    finally:
        server.stop()
    with app.app_context():
        assert db.session.get(ClockRun, "auctions").holder.split(":")[-1] in {str(p) for p in pids}


def test_several_workers_need_a_shared_rate_limit_store(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    result = app.test_cli_runner().invoke(args=["serve", "--workers", "2"])
    assert result.exit_code != 0 and "MARKET_RATELIMIT_STORAGE_URI" in result.output
