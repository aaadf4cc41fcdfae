"""Concurrent bidding over HTTP against a real server: waitress on 127.0.0.1 with its own temporary SQLite database.

N bidders (threads, one HTTP connection each) each try M times: read the state, bid the next minimum. Checks:
every accepted bid is at least the previous accepted bid plus the increment; the final price equals the highest
accepted bid; the number of accepted bids equals the 201 responses and the lot's bid count (none lost or counted
twice); every request got 201 or 409 (no 5xx). Prints a summary.

With ``--prefill N`` the lot first gets N accepted bids (through the service, before the server starts), and with
``--readers R`` R more threads read the auction state as fast as they can while the bidders bid (plain GETs, the
full body; ``--etag`` makes them poll like the page, with If-None-Match): bid and state-read latencies are then
measured side by side in one run, with the state's size.

Usage: ``python bench/auction_bids.py [--bidders 50] [--bids 20] [--threads 8] [--db sqlite|URL]
[--prefill 2000] [--readers 4] [--etag]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def setup(app, bidders: int, prefill: int = 0):
    from market.accounts.models import OrgKind, Role
    from market.accounts.service import create_user
    from market.api.auth import issue_token
    from market.db import db, utcnow
    from market.exchange import bidding, clock, deposits, listings
    from market.exchange.models import ListingSource
    from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState

    now = utcnow().replace(microsecond=0)
    with app.app_context():
        s = db.session

        def user(role, email, org):
            u = create_user(s, email=email, password="bench-pass-2026", role=role, org_name=org, name=email,
                            now=now, check_strength=False)
            if u.organisation is not None:
                from market.accounts.models import OrgStatus

                u.organisation.status = OrgStatus.VERIFIED
            s.flush()
            return u

        staff = user(Role.STAFF, "staff@bench.cq", "交易所(bench)")
        bank = user(Role.BANK, "bank@bench.cq", "银行(bench)")
        owner = user(Role.ENTERPRISE, "owner@bench.cq", "企业(bench)")
        assert owner.organisation.kind is OrgKind.ENTERPRISE
        asset = IpAsset(kind=IpKind.INVENTION, title="基准测试专利 (generated)", legal_status=LegalStatus.GRANTED,
                        pledge_state=PledgeState.PLEDGED, owner_org_id=owner.organisation_id,
                        filing_date=date(2018, 1, 1), frozen=False, created_at=now, updated_at=now)
        s.add(asset)
        s.flush()
        start = now - timedelta(hours=1)
        lot = listings.create_listing(s, bank, asset_id=asset.id, source=ListingSource.DEFAULT,
                                     valuation=Decimal("1000000"), starting_price=Decimal("700000"),
                                     increment=Decimal("1000"), deposit_amount=Decimal("70000"),
                                     notice_starts_at=start - timedelta(days=30), bidding_starts_at=start,
                                     ends_at=start + timedelta(hours=25), now=start - timedelta(days=31))
        published = start - timedelta(days=31)  # the notice counts from publication: 30 days before bidding
        listings.submit_listing(s, bank, lot, published)
        listings.review_listing(s, staff, lot, {k: True for k in listings.CHECKLIST}, True, published)
        clock.tick(s, now)
        tokens, people = [], []
        for i in range(bidders):
            b = user(Role.BIDDER, f"bidder{i}@bench.cq", None)
            deposits.pay_deposit(s, b, lot, now)
            tokens.append(issue_token(s, b, "bench", "read write", now)[1])
            people.append(b)
        s.commit()
        price = lot.starting_price
        for i in range(prefill):  # history before the run: alternate bidders, one increment each
            bidding.place_bid(s, people[i % len(people)], lot.id, price, now)
            price += lot.increment
            if i % 200 == 199:
                s.commit()
        s.commit()
        return lot.id, tokens


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bidders", type=int, default=50)
    ap.add_argument("--bids", type=int, default=20)
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    ap.add_argument("--db", default="sqlite", help="'sqlite' (temporary file) or a database URL (schema is reset)")
    ap.add_argument("--prefill", type=int, default=0, help="accepted bids on the lot before the run")
    ap.add_argument("--readers", type=int, default=0, help="threads reading the state during the run")
    ap.add_argument("--etag", action="store_true", help="readers send If-None-Match like the page's poller")
    args = ap.parse_args(argv)

    from waitress.server import create_server

    from market import create_app
    from market.bootstrap import init_db
    from market.db import db

    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.sqlite3" if args.db == "sqlite" else args.db
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.threads + 2}})
    with app.app_context():
        init_db()
    listing_id, tokens = setup(app, args.bidders, args.prefill)
    server = create_server(app, host="127.0.0.1", port=0, threads=args.threads)
    base = f"http://127.0.0.1:{server.effective_port}"
    threading.Thread(target=server.run, daemon=True).start()

    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()

    def bidder(token):
        for _ in range(args.bids):
            _s, state = call(base, "GET", f"/api/v1/auctions/{listing_id}")
            t0 = time.perf_counter()
            code, _body = call(base, "POST", f"/api/v1/auctions/{listing_id}/bids", token,
                               {"amount": state["next_min_bid"]})
            with lock:
                statuses[code] += 1
                latencies.append(time.perf_counter() - t0)

    reads: list[float] = []
    read_codes: Counter = Counter()
    done = threading.Event()
    state_path = f"/api/v1/auctions/{listing_id}"
    first = urllib.request.urlopen(base + state_path, timeout=60)
    state_bytes = len(first.read())

    def reader():
        tag = None
        while not done.is_set():
            req = urllib.request.Request(base + state_path)
            if args.etag and tag:
                req.add_header("If-None-Match", tag)
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    resp.read()
                    code, tag = resp.status, resp.headers.get("ETag")
            except urllib.error.HTTPError as exc:
                code = exc.code
            with lock:
                reads.append(time.perf_counter() - t0)
                read_codes[code] += 1

    started = time.perf_counter()
    readers = [threading.Thread(target=reader) for _ in range(args.readers)]
    threads = [threading.Thread(target=bidder, args=(t,)) for t in tokens]
    for t in readers + threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    for t in readers:
        t.join()
    elapsed = time.perf_counter() - started
    _s, final = call(base, "GET", f"/api/v1/auctions/{listing_id}")
    # The server thread is a daemon and ends with the process (closing it under waitress's feet only adds noise).

    from sqlalchemy import select

    from market.exchange.models import Bid, Listing

    problems = []
    with app.app_context():
        lot = db.session.get(Listing, listing_id)
        accepted = db.session.scalars(select(Bid).where(Bid.listing_id == listing_id, Bid.accepted.is_(True))
                                      .order_by(Bid.id)).all()
        recorded = len(db.session.scalars(select(Bid.id).where(Bid.listing_id == listing_id)).all())
        for prev, cur in zip(accepted, accepted[1:], strict=False):
            if cur.amount < prev.amount + lot.increment:
                problems.append(f"bid {cur.id} {cur.amount} < {prev.amount} + {lot.increment}")
        if not accepted or lot.current_price != max(b.amount for b in accepted) or \
                lot.current_price != accepted[-1].amount:
            problems.append(f"final price {lot.current_price} is not the highest accepted bid")
        if not (len(accepted) - args.prefill == statuses[201] == lot.bid_count - args.prefill):
            problems.append(f"accepted: {len(accepted)} rows, {statuses[201]} responses, bid_count {lot.bid_count}")
        if recorded - args.prefill != sum(statuses.values()):
            problems.append(f"{recorded} bid records for {sum(statuses.values())} requests")
        if set(statuses) - {201, 409}:
            problems.append(f"unexpected statuses {dict(statuses)}")
        if final["current_price"] != str(lot.current_price):
            problems.append("API state differs from the database")
        db.engine.dispose()
    total = sum(statuses.values())
    lat = sorted(latencies)
    print(f"database: {url.split(':')[0]}; waitress threads: {args.threads}")
    print(f"{args.bidders} bidders x {args.bids} bids = {total} bid requests in {elapsed:.2f} s "
          f"({total / elapsed:.0f} bids/s incl. a state read before each)")
    print(f"responses: {dict(sorted(statuses.items()))}; accepted bids: {statuses[201]}; "
          f"final price: {final['current_price']}; ends_at: {final['ends_at']}")
    print(f"bid latency: p50 {statistics.median(lat) * 1000:.1f} ms, p95 {lat[int(len(lat) * 0.95) - 1] * 1000:.1f} ms,"
          f" max {lat[-1] * 1000:.1f} ms")
    if reads:
        rd = sorted(reads)

        def p99(values):
            return values[max(0, int(len(values) * 0.99) - 1)]

        print(f"state: {state_bytes:,} bytes at {args.prefill} prefilled bids; {len(rd)} reads "
              f"({len(rd) / elapsed:.0f}/s, {dict(sorted(read_codes.items()))}) p50 {statistics.median(rd) * 1000:.1f}"
              f" ms, p99 {p99(rd) * 1000:.1f} ms")
        print(f"bid p99 {p99(lat) * 1000:.1f} ms = {p99(lat) / p99(rd):.2f} x state-read p99")
    print("checks: " + ("all passed" if not problems else "FAILED\n  " + "\n  ".join(problems)))
    tmp.cleanup()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
