"""Page throughput and bidding under load against the production server (waitress), on 127.0.0.1 only.

Runs, each bounded in time: a bare Flask route (baseline, added by bench/load/server.py only), the empty logged-in
layout (`/_bench/layout`, also only in the wrapper: the floor of any logged-in page), the search page `/patents?q=电池`
logged in (the same page again and again: its rendered results come from the cache after the first request), the
search page over 720 different queries and pages (`search_varied`: mostly cache misses, the uncached cost), the
auction state `GET /api/v1/auctions/<id>`, and bids `POST /api/v1/auctions/<id>/bids` with bearer tokens. Reports
requests/s, p50, p99 and the server's peak RSS (VmHWM from /proc/<pid>/status), checks the targets (search ≥ 40 % of
the bare route's requests/s; bid p99 ≤ 3 × state p99; RSS ≤ 400 MB) and that no bid was lost (every bid request is
recorded, accepted ones equal the lot's bid count).

Load generator: wrk (Debian package `wrk`) when installed, else a built-in closed-loop client (threads with one
keep-alive HTTP connection each). Usage:

  python bench/load/load_bench.py [--duration 15] [--connections 16] [--tool wrk|python] [--json] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEARCH_PATH = "/patents?q=" + urllib.parse.quote("电池")
TARGETS = {"search_rps_ge_40pct_bare": 0.40, "bid_p99_le_3x_state_p99": 3.0, "rss_le_400_mb": 400}


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0])
    return fields


def machine() -> dict:
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_mib": mem, "python": platform.python_version(),
            "os": platform.platform()}


# ------------------------------------------------------------------------------------------------ login


def login_cookie(base: str, email: str, password: str) -> str:
    """Log in through the real form (CSRF on) and return the Cookie header value."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    data = urllib.parse.urlencode({"email": email, "password": password,
                                   "csrf_token": token.group(1) if token else ""}).encode()
    opener.open(urllib.request.Request(base + "/login", data=data), timeout=30).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    probe = urllib.request.Request(base + SEARCH_PATH, headers={"Cookie": cookie})
    with urllib.request.urlopen(probe, timeout=30) as resp:  # a redirect to /login would end on the login page
        if "/login" in resp.url:
            raise SystemExit(f"log-in as {email} failed")
    return cookie


# ----------------------------------------------------------------------------------------- load tools


def run_wrk(base: str, path: str, seconds: float, connections: int, threads: int, headers: dict,
            script: Path | None = None, env: dict | None = None) -> dict:
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency",
           "--timeout", "10s"]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(base + path)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60,
                         env={**os.environ, **(env or {})}).stdout
    return parse_wrk(out)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str) -> dict:
    pct = {p: _ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M)}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.M)
    if "50" not in pct or "99" not in pct:
        raise SystemExit(f"could not read wrk's latency distribution:\n{out}")
    return {"tool": "wrk", "requests": total, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": pct.get("50"), "p99_ms": pct.get("99"), "non_2xx_3xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1).strip() if socket_errors else None}


def run_python(base: str, path: str, seconds: float, connections: int, headers: dict,
               body_for=None, paths: list[str] | None = None) -> dict:
    """Closed loop: `connections` threads, one keep-alive connection each, for `seconds` (GET `paths` in turn
    when given)."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    counter = iter(range(1, 10**9))

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine, codes = [], {}
        while time.perf_counter() < stop_at:
            method, body, extra, target = "GET", None, {}, path
            if body_for or paths:
                with lock:
                    k = next(counter)
            if body_for:
                body, extra = body_for(k, n)
                method = "POST"
            elif paths:
                target = paths[k % len(paths)]
            t0 = time.perf_counter()
            try:
                conn.request(method, target, body=body, headers={**headers, **extra})
                resp = conn.getresponse()
                resp.read()
                code = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                code = 0
            mine.append(time.perf_counter() - t0)
            codes[code] = codes.get(code, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0] if lat else 0.0] * 99
    return {"tool": "python", "requests": len(lat), "rps": len(lat) / elapsed, "p50_ms": q[49] * 1000,
            "p99_ms": q[98] * 1000, "non_2xx_3xx": sum(c for s, c in statuses.items() if not 200 <= s < 400),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


# ---------------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=15.0, help="seconds per run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads (market demo's default)")
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--bidders", type=int, default=20)
    ap.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("--db", default="sqlite", help="'sqlite' (temporary file) or a database URL (schema reset)")
    ap.add_argument("--es-url", default=None, help="search through this Elasticsearch (default: embedded)")
    ap.add_argument("--quick", action="store_true",
                    help="CI mode: small data set (866 real patents), 2 s runs, 4 connections, 4 bidders")
    ap.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    ap.add_argument("--workdir", help="SQLite only: keep the prepared database here and reuse it on the next run "
                    "(the lot keeps its earlier bids; the bid run starts from its current price)")
    ap.add_argument("--only", help="comma-separated runs to do (default: all), e.g. auction_state,bid")
    ap.add_argument("--sqlite-synchronous", choices=["NORMAL", "FULL"],
                    help="bench-only experiment: PRAGMA synchronous on the server's SQLite connections")
    ap.add_argument("--serialize-writes", action="store_true",
                    help="bench-only experiment: the server's write transactions queue on a Python lock first")
    ap.add_argument("--generated", type=int, default=0,
                    help="add N generated patents (bench/gen_patents.py) to the demo data, e.g. 100000")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.connections, args.bidders = 2.0, 4, 4
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")

    tmp = tempfile.TemporaryDirectory(prefix="market-load-")
    work = Path(args.workdir) if args.workdir and args.db == "sqlite" else Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    reuse = (work / "setup.json").exists()
    url = f"sqlite:///{work}/load.sqlite3" if args.db == "sqlite" else args.db
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    search_path = f"{work}/search.sqlite3"
    common = ["--db", url, "--search-path", search_path] + (["--es-url", args.es_url] if args.es_url else [])
    setup_file = work / "setup.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_")}
    t0 = time.perf_counter()
    if not reuse:
        subprocess.run([sys.executable, str(HERE / "server.py"), "prepare", *common, "--out", str(setup_file),
                        "--bidders", str(args.bidders), *(["--minimal"] if args.quick else []),
                        *(["--generated", str(args.generated)] if args.generated else [])],
                       check=True, cwd=ROOT, env=env, timeout=1800)
    prepare_s = time.perf_counter() - t0
    log(f"prepared the demo database in {prepare_s:.0f} s" if not reuse else f"reusing the database in {work}")
    setup = json.loads(setup_file.read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The server's output goes to a file: waitress logs a warning per queued request under load, and an unread
    # pipe would fill up and block the server.
    server_log = open(Path(tmp.name) / "server.log", "w+")  # noqa: SIM115 - closed with the temp dir
    experiments = ((["--sqlite-synchronous", args.sqlite_synchronous] if args.sqlite_synchronous else [])
                   + (["--serialize-writes"] if args.serialize_writes else []))
    server = subprocess.Popen([sys.executable, str(HERE / "server.py"), "serve", *common, "--port", str(port),
                               "--threads", str(args.threads), *experiments], cwd=ROOT, env=env,
                              stdout=server_log, stderr=subprocess.STDOUT, text=True)
    result: dict = {"quick": args.quick, "tool": tool, "machine": machine(), "duration_s": args.duration,
                    "connections": args.connections, "waitress_threads": args.threads, "database": url.split(":")[0],
                    "search_backend": "elasticsearch" if args.es_url else "embedded",
                    "data": ("866 real patents (quick)" if args.quick else "market demo data")
                    + (f" + {args.generated:,} generated patents" if args.generated else ""),
                    "prepare_s": round(prepare_s, 1), "runs": {}, "experiments": experiments,
                    "memory_method": "VmHWM (peak resident set) of the waitress process, /proc/<pid>/status"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/_bench/bare", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server_log.seek(0)
                    raise SystemExit("server did not start: " + server_log.read()[-3000:]) from None
                time.sleep(0.2)
        result["rss_kib_idle"] = rss_kib(server.pid)
        bank = next(email for role, email in setup["accounts"] if role == "bank")
        cookie = login_cookie(base, bank, setup["password"])
        listing = setup["listing_id"]
        tokens = setup["tokens"]
        state_path = f"/api/v1/auctions/{listing}"
        with urllib.request.urlopen(base + state_path, timeout=30) as resp:
            base_amount = int(float(json.loads(resp.read())["next_min_bid"]))
        step = 1000  # the bench lot's increment (bench/auction_bids.py)

        varied = varied_paths()
        paths_file = Path(tmp.name) / "paths.txt"
        paths_file.write_text("\n".join(varied) + "\n")

        only = set(args.only.split(",")) if args.only else None

        def load(name: str, path: str, headers: dict, bids: bool = False, paths: list[str] | None = None) -> None:
            if only and name not in only:
                return
            log(f"{name}: {args.duration:.0f} s, {args.connections} connections, {tool} ...")
            if tool == "wrk":
                script = HERE / "bid.lua" if bids else (HERE / "search.lua" if paths else None)
                env_extra = {"LISTING": str(listing), "BASE": str(base_amount), "STEP": str(step),
                             "TOKENS": ",".join(tokens), "NTHREADS": str(args.wrk_threads)} if bids else None
                if paths:
                    env_extra = {"PATHS_FILE": str(paths_file), "NTHREADS": str(args.wrk_threads)}
                run = run_wrk(base, path, args.duration, args.connections, args.wrk_threads, headers, script,
                              env_extra)
            else:
                body_for = None
                if bids:
                    def body_for(k, n):
                        token = tokens[k % len(tokens)]
                        return (json.dumps({"amount": f"{base_amount + k * step}.00"}),
                                {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                run = run_python(base, path, args.duration, args.connections, headers, body_for, paths)
            run["path"] = path.replace(SEARCH_PATH, "/patents?q=电池")
            if paths:
                run["path"] = f"{len(paths)} search pages in turn (36 queries × pages 1–10 × 10 or 20 per page)"
            if name.startswith("search"):
                with urllib.request.urlopen(base + "/_bench/page-cache", timeout=30) as resp:
                    run["page_cache_after"] = json.loads(resp.read())
            result["runs"][name] = run
            log(f"  {run['rps']:.0f} req/s, p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, "
                f"non-2xx {run['non_2xx_3xx']}")

        load("bare", "/_bench/bare", {})
        load("layout", "/_bench/layout", {"Cookie": cookie})
        load("search_page", SEARCH_PATH, {"Cookie": cookie})
        load("search_varied", varied[0], {"Cookie": cookie}, paths=varied)
        load("auction_state", state_path, {})
        with urllib.request.urlopen(base + state_path, timeout=30) as resp:
            base_amount = int(float(json.loads(resp.read())["next_min_bid"]))
        load("bid", f"/api/v1/auctions/{listing}/bids", {}, bids=True)
        result["rss_kib"] = rss_kib(server.pid)
        with urllib.request.urlopen(base + state_path, timeout=30) as resp:
            final = json.loads(resp.read())
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    server_log.seek(0)
    result["server_queue_warnings"] = server_log.read().count("Task queue depth")
    server_log.close()
    result["bids_check"] = (check_bids(url, listing, result["runs"]["bid"], final) if "bid" in result["runs"]
                            else {"ok": True, "skipped": True})
    runs = result["runs"]
    peak_mb = result["rss_kib"]["VmHWM"] / 1024
    targets: dict = {}
    if {"search_page", "bare"} <= set(runs):
        targets["search_rps_over_bare_rps"] = round(runs["search_page"]["rps"] / runs["bare"]["rps"], 3)
        targets["search_rps_ge_40pct_bare"] = (
            runs["search_page"]["rps"] >= TARGETS["search_rps_ge_40pct_bare"] * runs["bare"]["rps"])
    for name in ("search_varied", "layout"):
        if {name, "bare"} <= set(runs):
            targets[f"{name}_rps_over_bare_rps"] = round(runs[name]["rps"] / runs["bare"]["rps"], 3)
    if {"bid", "auction_state"} <= set(runs):
        targets["bid_p99_over_state_p99"] = round(runs["bid"]["p99_ms"] / runs["auction_state"]["p99_ms"], 2)
        targets["bid_p99_le_3x_state_p99"] = (
            runs["bid"]["p99_ms"] <= TARGETS["bid_p99_le_3x_state_p99"] * runs["auction_state"]["p99_ms"])
    targets["peak_rss_mb"] = round(peak_mb, 1)
    targets["rss_le_400_mb"] = peak_mb <= TARGETS["rss_le_400_mb"]
    result["targets"] = targets
    tmp.cleanup()
    log(json.dumps(result["targets"], ensure_ascii=False))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result["bids_check"]["ok"] else 1


def varied_paths() -> list[str]:
    """720 distinct search pages: the search benchmark's 36 real queries × pages 1–10 × 10 or 20 per page."""
    sys.path.insert(0, str(ROOT / "bench"))
    from search_bench import QUERIES

    return [f"/patents?q={urllib.parse.quote(q)}&page={page}&per_page={per_page}"
            for per_page in (20, 10) for page in range(1, 11) for q in QUERIES]


def check_bids(url: str, listing_id: int, run: dict, final: dict) -> dict:
    """Every bid request left a record; accepted records equal the lot's bid count and the 201s."""
    from sqlalchemy import create_engine, func, select

    sys.path.insert(0, str(ROOT))
    import market.models  # noqa: F401  (every mapped class, so relationships resolve)
    from market.exchange.models import Bid, Listing

    engine = create_engine(url)
    with engine.connect() as conn:
        recorded = conn.scalar(select(func.count()).select_from(Bid).where(Bid.listing_id == listing_id))
        accepted = conn.scalar(select(func.count()).select_from(Bid).where(Bid.listing_id == listing_id,
                                                                            Bid.accepted.is_(True)))
        bid_count = conn.scalar(select(Listing.bid_count).where(Listing.id == listing_id))
    engine.dispose()
    # wrk stops mid-request at the deadline: a request cut then may still be recorded (at most one per connection).
    ok = accepted == bid_count and recorded >= run["requests"] and final["status"] == "bidding"
    return {"ok": ok, "requests": run["requests"], "recorded": recorded, "accepted": accepted,
            "lot_bid_count": bid_count, "final_price": final["current_price"]}


if __name__ == "__main__":
    sys.exit(main())
