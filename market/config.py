"""Configuration: defaults, then MARKET_* environment variables, then the test mapping."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV_KEYS = {
    "MARKET_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "MARKET_ELASTICSEARCH_URL": "ELASTICSEARCH_URL",
    "MARKET_SECRET_KEY": "SECRET_KEY",
    "MARKET_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "MARKET_SEARCH_INDEX_PREFIX": "SEARCH_INDEX_PREFIX",
    "MARKET_SEARCH_EMBEDDED_PATH": "SEARCH_EMBEDDED_PATH",
    "MARKET_RATELIMIT_KEY_PREFIX": "RATELIMIT_KEY_PREFIX",
    "MARKET_BID_RATE_LIMIT": "BID_RATE_LIMIT",
    "MARKET_LOGIN_RATE_LIMIT": "LOGIN_RATE_LIMIT",
}


def embedded_search_path(database_url: str, instance_path: Path) -> str:
    """Where the embedded search index of a database lives by default: beside an SQLite file
    (`market.sqlite3` → `market.search.sqlite3`), else in the instance folder under a name derived from the URL
    (without the password). Each database gets its own index file; the index's identity record catches the rest
    (a database recreated at the same place)."""
    import hashlib
    import re

    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        db_file = Path(url.database)
        return str(db_file.with_name(f"{db_file.stem}.search.sqlite3"))
    safe = url.render_as_string(hide_password=True)
    label = re.sub(r"[^A-Za-z0-9_]+", "-", f"{url.get_backend_name()}-{url.database or ''}").strip("-")
    return str(instance_path / f"search-{label}-{hashlib.sha256(safe.encode()).hexdigest()[:10]}.sqlite3")


def _secret_key(instance_path: Path) -> str:
    """A stable secret for local use, kept in the instance folder (never in the repository)."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _clock_env(config: dict) -> None:
    """MARKET_CLOCKS=0 (no scheduler), MARKET_CLOCK_POLL_SECONDS=1, MARKET_CLOCK_EVERY="auctions=2,loans=300"."""
    if os.environ.get("MARKET_CLOCKS") == "0":
        config["CLOCKS_ENABLED"] = False
    if os.environ.get("MARKET_CLOCK_POLL_SECONDS"):
        config["CLOCK_POLL_SECONDS"] = float(os.environ["MARKET_CLOCK_POLL_SECONDS"])
    if os.environ.get("MARKET_CLOCK_EVERY"):
        pairs = (item.split("=", 1) for item in os.environ["MARKET_CLOCK_EVERY"].split(",") if "=" in item)
        config["CLOCK_EVERY"] = {name.strip(): float(value) for name, value in pairs}


def load(app, test_config: dict | None) -> None:
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'market.sqlite3'}",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        ELASTICSEARCH_URL=None,
        SEARCH_INDEX_PREFIX="market",
        SEARCH_EMBEDDED_PATH=None,  # default: beside the database (embedded_search_path)
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        LANGUAGES=["zh_CN", "en"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Cookies are marked Secure when served over HTTPS (set MARKET_COOKIE_SECURE=0 only for plain-HTTP demos).
        SESSION_COOKIE_SECURE=False,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        LOGIN_RATE_LIMIT="10 per minute",
        SIGNUP_RATE_LIMIT="5 per hour",
        # Behind a reverse proxy: how many proxies append to X-Forwarded-For (0: none, the peer is the client).
        # Only then do the per-address limits see the client's address instead of the proxy's.
        PROXY_FIX_X_FOR=0,
        BID_RATE_LIMIT="120 per minute",
        BID_MAX_MULTIPLE_OF_VALUATION=10,  # a bid is at most 10 × the lot's valuation (market.bounded)
        FORCE_HTTPS=False,
        # The clocks `market serve` runs (market.clock): a pass every CLOCK_POLL_SECONDS; CLOCK_EVERY overrides a
        # clock's own interval ({"auctions": 2}); CLOCKS_ENABLED=False serves without them.
        CLOCKS_ENABLED=True,
        CLOCK_POLL_SECONDS=1.0,
        CLOCK_EVERY={},
        API_TITLE="IP Pledge Market API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    for env, key in ENV_KEYS.items():
        if os.environ.get(env):
            app.config[key] = os.environ[env]
    _clock_env(app.config)
    if os.environ.get("MARKET_COOKIE_SECURE") == "1":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    if os.environ.get("MARKET_PROXY_FIX_X_FOR"):
        app.config["PROXY_FIX_X_FOR"] = int(os.environ["MARKET_PROXY_FIX_X_FOR"])
    if test_config:
        app.config.update(test_config)
    if app.config["PROXY_FIX_X_FOR"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trust exactly that many X-Forwarded-For hops; a client cannot spoof its address past the proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]))
    if not app.config.get("SEARCH_EMBEDDED_PATH"):
        app.config["SEARCH_EMBEDDED_PATH"] = embedded_search_path(app.config["SQLALCHEMY_DATABASE_URI"], instance)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
