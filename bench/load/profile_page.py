"""CPU per request, in-process (Flask test client, no server, no network): where the search page's time goes.

  python bench/load/profile_page.py [--workdir DIR] [--generated N] [--n 200] [--profile search|search_uncached|layout]

Prepares (or reuses, with --workdir) a database with the same code as the load benchmark (`server.py prepare`:
the demo data, plus N generated patents), logs in as the demo bank through the real form (CSRF on), then measures
`time.process_time()` per request, interleaved in rounds, for:

  bare            GET /_bench/bare (the load benchmark's baseline; returns "ok")
  user            a logged-in route returning a string (session + the user loaded)
  layout          GET /_bench/layout (the user loaded + base.html with no content: the floor of a logged-in page)
  search          GET /patents?q=电池, repeated (the results fragment comes from the cache)
  search_uncached the same with the cache off (search + reloading the rows + rendering everything)
  search_varied   720 different search pages in turn, cache off
Prints JSON (medians of the rounds, ms of CPU per request). --profile NAME adds a cProfile of that one.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", help="keep/reuse the prepared database here")
    ap.add_argument("--generated", type=int, default=0)
    ap.add_argument("--n", type=int, default=200, help="requests per kind and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", choices=["search", "search_uncached", "layout"])
    args = ap.parse_args(argv)
    tmp = None
    if args.workdir:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="market-profile-")
        work = Path(tmp.name)
    db_url, search_path = f"sqlite:///{work}/load.sqlite3", str(work / "search.sqlite3")
    setup_file = work / "setup.json"
    if not setup_file.exists():
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_")}
        subprocess.run([sys.executable, str(HERE / "server.py"), "prepare", "--db", db_url, "--search-path",
                        search_path, "--out", str(setup_file), "--bidders", "2",
                        *(["--generated", str(args.generated)] if args.generated else [])],
                       check=True, cwd=ROOT, env=env, timeout=1800)
    setup = json.loads(setup_file.read_text())

    from flask_login import current_user, login_required
    from server import make_app

    app = make_app(db_url, search_path, None)

    @app.route("/_bench/user")
    @login_required
    def user_only():
        return "ok " + current_user.name

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    bank = next(email for role, email in setup["accounts"] if role == "bank")
    client.post("/login", data={"email": bank, "password": setup["password"], "csrf_token": token.group(1)})
    search = "/patents?q=" + urllib.parse.quote("电池")
    from load_bench import varied_paths

    varied = varied_paths()
    cache = app.extensions["ip_page_cache"]
    kinds = {"bare": ("/_bench/bare", True), "user": ("/_bench/user", True), "layout": ("/_bench/layout", True),
             "search": (search, True), "search_uncached": (search, False), "search_varied": (None, False)}

    def run(kind: str, n: int) -> float:
        path, cached = kinds[kind]
        app.extensions["ip_page_cache"] = cache if cached else None
        t0 = time.process_time()
        for i in range(n):
            resp = client.get(path or varied[i % len(varied)])
            if resp.status_code != 200:
                raise SystemExit(f"{kind}: {resp.status_code}")
        return (time.process_time() - t0) / n * 1000

    for kind in kinds:  # warm-up
        run(kind, 20)
    samples: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            samples[kind].append(run(kind, args.n))
    out = {"generated_patents": args.generated, "requests_per_round": args.n, "rounds": args.rounds,
           "cpu_ms_per_request": {k: round(statistics.median(v), 3) for k, v in samples.items()},
           "cache": {"hits": cache.hits, "misses": cache.misses}}
    bare = out["cpu_ms_per_request"]["bare"]
    out["ratio_to_bare"] = {k: round(v / bare, 1) for k, v in out["cpu_ms_per_request"].items()}
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run(args.profile, 50)
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
        print(text.getvalue(), file=sys.stderr)
    print(json.dumps(out, indent=2))
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
