"""The product app under waitress (the production server, as `market demo` serves it) plus one bare Flask route for
the benchmark's baselines: `/_bench/bare` (returns "ok") and `/_bench/layout` (logged in, the shared layout with an
empty content block). The routes live only in this wrapper, never in the product.

  python bench/load/server.py prepare --db URL --search-path P --out setup.json [--bidders N] [--minimal]
      create the schema, load the demo data (same code as `market demo --no-serve`; --minimal: only the 866 real
      patents with legal status and a bank account; --generated N: N generated patents more, reindexed), add a lot
      in bidding with N bidders holding deposits and API tokens; write what the load runs need to setup.json
  python bench/load/server.py serve --db URL --search-path P --port N [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def sqlite_experiments(synchronous: str | None, serialize_writes: bool) -> None:
    """Bench-only experiments for the bid tail on SQLite (never in the product; see docs/benchmarks.md):

    - ``synchronous``: ``PRAGMA synchronous=<value>`` on every SQLite connection (the product keeps FULL);
    - ``serialize_writes``: write transactions of this process queue on one Python lock before ``BEGIN IMMEDIATE``
      and release it at commit/rollback, so a waiting writer starts the moment the previous one ends instead of
      polling in SQLite's busy handler (sleeps of up to 100 ms).
    """
    import threading

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def is_sqlite(dbapi_connection) -> bool:
        return type(dbapi_connection).__module__.startswith("sqlite3")

    if synchronous:
        @event.listens_for(Engine, "connect")
        def _synchronous(dbapi_connection, record):
            if is_sqlite(dbapi_connection):
                dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")

    if serialize_writes:
        from market.db import _sqlite_begin_statement

        lock = threading.Lock()

        def begin(conn):
            if is_sqlite(conn.connection.dbapi_connection) and _sqlite_begin_statement() == "BEGIN IMMEDIATE":
                lock.acquire()
                conn.info["bench_write_lock"] = True

        def end(conn):
            if conn.info.pop("bench_write_lock", False):
                lock.release()

        event.listen(Engine, "begin", begin, insert=True)  # before market.db's BEGIN IMMEDIATE
        event.listen(Engine, "commit", end)
        event.listen(Engine, "rollback", end)


def make_app(db_url: str, search_path: str, es_url: str | None):
    from market import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SEARCH_EMBEDDED_PATH": search_path,
        "ELASTICSEARCH_URL": es_url or None,
        "SECRET_KEY": "load-bench",
        # Measure the server, not the limiter (a few hundred requests per second from one client address).
        "RATELIMIT_ENABLED": False,
    }
    if es_url:
        config["SEARCH_INDEX_PREFIX"] = "loadbench"
    app = create_app(config)

    @app.route("/_bench/bare")
    def bare():
        return "ok"

    from flask import render_template
    from flask_login import login_required

    layout = app.jinja_env.from_string('{% extends "base.html" %}{% block content %}{% endblock %}')

    @app.route("/_bench/layout")
    @login_required
    def empty_layout():
        """The floor of any logged-in page: the user loaded and the shared layout (base.html) with no content."""
        return render_template(layout)

    @app.route("/_bench/page-cache")
    def page_cache_stats():
        """Hits and misses of the search page's results cache (market/ip/pagecache.py) so far."""
        cache = app.extensions.get("ip_page_cache")
        return {"hits": cache.hits, "misses": cache.misses, "entries": len(cache)} if cache else {"off": True}

    return app


def prepare_minimal() -> dict:
    """Quick mode: schema, one bank account, the 866 real patents with legal status, indexed. Seconds, not minutes."""
    from market.accounts.models import OrgStatus, Role
    from market.accounts.service import create_user
    from market.bootstrap import init_db
    from market.db import db, utcnow
    from market.demo import DEMO_PASSWORD
    from market.ip.demo import LEGAL_STATUS
    from market.ip.importer import import_file
    from market.ip.indexing import drain, get_backend

    init_db()
    now = utcnow()
    create_user(db.session, email="bank@load.cq", password=DEMO_PASSWORD, role=Role.BANK, org_name="银行(load)",
                now=now, check_strength=False).organisation.status = OrgStatus.VERIFIED
    import_file(db.session, None, LEGAL_STATUS, now)
    db.session.commit()
    drain(db.session, get_backend())
    db.session.commit()
    return {"password": DEMO_PASSWORD, "accounts": [("bank", "bank@load.cq")]}


def add_generated(n: int) -> None:
    """N more patents from bench/gen_patents.py (GENERATED, same seed as the search benchmark), then a reindex."""
    from datetime import datetime

    from gen_patents import generate
    from sqlalchemy import insert

    from market.db import db
    from market.ip import indexing
    from market.ip.importer import KIND_CODES
    from market.ip.models import IpAsset, PledgeState

    now = datetime(2026, 1, 1, 9, 0)
    rows = []
    for p in generate(n):
        kind, status = KIND_CODES[p.kind_code]
        rows.append({"kind": kind, "publication_number": p.id, "title": p.title, "ipc_codes": list(p.ipc_subclasses),
                     "legal_status": status, "pledge_state": PledgeState.FREE, "frozen": False,
                     "filing_date": p.filing_date, "source": "generated (bench/gen_patents.py)",
                     "created_at": now, "updated_at": now})
        if len(rows) == 5000:
            db.session.execute(insert(IpAsset), rows)
            rows = []
    if rows:
        db.session.execute(insert(IpAsset), rows)
    db.session.commit()
    indexing.reindex(db.session, indexing.get_backend(), now)
    db.session.commit()


def prepare(args) -> None:
    from auction_bids import setup as auction_setup

    from market.demo import prepare_demo

    app = make_app(args.db, args.search_path, args.es_url)
    with app.app_context():
        logins = prepare_minimal() if args.minimal else prepare_demo(echo=lambda *_a, **_k: None)
        if args.generated:
            add_generated(args.generated)
    listing_id, tokens = auction_setup(app, args.bidders)
    Path(args.out).write_text(json.dumps({"listing_id": listing_id, "tokens": tokens, "password": logins["password"],
                                          "accounts": logins["accounts"]}))


def serve(args) -> None:
    import faulthandler
    import signal

    from waitress import serve as waitress_serve

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: every thread's stack to stderr

    sqlite_experiments(args.sqlite_synchronous, args.serialize_writes)
    app = make_app(args.db, args.search_path, args.es_url)
    waitress_serve(app, host="127.0.0.1", port=args.port, threads=args.threads, ident="ip-pledge-market")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["prepare", "serve"])
    ap.add_argument("--db", required=True)
    ap.add_argument("--search-path", required=True)
    ap.add_argument("--es-url", default=None)
    ap.add_argument("--out")
    ap.add_argument("--bidders", type=int, default=20)
    ap.add_argument("--minimal", action="store_true", help="small data set (quick mode) instead of the demo")
    ap.add_argument("--generated", type=int, default=0, help="add N generated patents (e.g. 100000) and reindex")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--sqlite-synchronous", choices=["NORMAL", "FULL"], help="bench-only experiment (serve)")
    ap.add_argument("--serialize-writes", action="store_true", help="bench-only experiment (serve)")
    args = ap.parse_args()
    prepare(args) if args.command == "prepare" else serve(args)


if __name__ == "__main__":
    main()
