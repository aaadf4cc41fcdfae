"""`market serve` (and `market demo`): the production WSGI server with the clocks running inside it.

One process (the default): waitress with a pool of threads. Several (`--workers N`, Linux): gunicorn with N worker
processes of gthread workers behind one address. Every process starts its own clock scheduler (market.clock);
the clocks' database locks make sure only one of them runs a given clock at a time.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from market.clock import start_scheduler
from market.db import db

IDENT = "ip-pledge-market"


class ServeError(Exception):
    """The server cannot start as asked (a message for the operator)."""


def check_setup(app: Flask, workers: int) -> list[str]:
    """Refuse what would be unsafe with several processes; return warnings for what merely works less well."""
    if workers <= 1:
        return []
    if app.config.get("RATELIMIT_ENABLED", True) and app.config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        raise ServeError("Several workers need one rate-limit store that all of them share: set "
                         "MARKET_RATELIMIT_STORAGE_URI (e.g. redis://127.0.0.1:6379/0).")
    warnings = []
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        warnings.append("SQLite serves several processes one writer at a time; use PostgreSQL "
                        "(MARKET_DATABASE_URL) for real traffic.")
    if not app.config.get("ELASTICSEARCH_URL"):
        warnings.append("The embedded search index is one SQLite file shared by every worker (safe, one writer at "
                        "a time); use Elasticsearch (MARKET_ELASTICSEARCH_URL) for real traffic.")
    return warnings


def release_connections(app: Flask) -> None:
    """Close what a forked worker must not share with its parent: database pool and the search backend."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    backend = app.extensions.get("search")
    if backend is not None:
        backend.close()
        app.extensions["search"] = None


def serve(app: Flask, host: str, port: int, *, workers: int = 1, threads: int = 8,
          echo: Callable[[str], None] = print) -> None:
    for warning in check_setup(app, workers):
        echo(f"Warning: {warning}")
    if workers <= 1:
        from waitress import serve as waitress_serve

        scheduler = start_scheduler(app)
        echo(f"Serving on http://{host}:{port} (1 process, {threads} threads; clocks "
             f"{'on' if scheduler else 'off'})  (Ctrl+C to stop)")
        try:
            waitress_serve(app, host=host, port=port, threads=threads, ident=IDENT)
        finally:
            if scheduler is not None:
                scheduler.stop()
        return
    release_connections(app)
    echo(f"Serving on http://{host}:{port} ({workers} processes × {threads} threads, gunicorn; clocks "
         f"{'on' if app.config.get('CLOCKS_ENABLED', True) else 'off'})  (Ctrl+C to stop)")
    _gunicorn(app, host, port, workers, threads).run()


def _gunicorn(app: Flask, host: str, port: int, workers: int, threads: int):
    from gunicorn.app.base import BaseApplication

    def post_worker_init(_worker) -> None:
        start_scheduler(app)  # in the worker, after the fork: threads do not survive a fork

    class Server(BaseApplication):
        def load_config(self) -> None:
            settings = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
                        "proc_name": IDENT, "post_worker_init": post_worker_init, "accesslog": None,
                        "graceful_timeout": 10}
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    return Server()
