"""`/healthz` (the process is up) and `/readyz` (database, search engine and clocks, each reported) for the load
balancer and the monitoring. Neither needs a login; neither writes."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from market.db import db, utcnow

health_bp = Blueprint("health", __name__)


@health_bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok", "pid": os.getpid()})


def _database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        db.session.rollback()
        return {"ok": False, "dialect": db.engine.dialect.name, "error": type(exc).__name__}


def _search() -> dict:
    from market.outbox.backend import get_backend

    try:
        report = get_backend().health()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "error": type(exc).__name__}
    report.pop("url", None)  # may carry credentials
    report.pop("path", None)  # a file system path is nobody's business outside
    return report


def _scheduler(database_ok: bool) -> dict:
    """This process's scheduler thread, and every clock's last run (by whichever process ran it)."""
    from market.clock import clock_status

    scheduler = current_app.extensions.get("clock_scheduler")
    enabled = bool(current_app.config.get("CLOCKS_ENABLED", True))
    report = {"enabled": enabled, **(scheduler.report() if scheduler else {"running": False})}
    if not database_ok:
        return {**report, "ok": False}
    report["clocks"] = clock_status(db.session, utcnow())
    late = sorted(name for name, clock in report["clocks"].items() if clock["late"])
    report["late"] = late
    # A process that serves with its clocks off is ready when some other process keeps them on time.
    report["ok"] = not late and (report["running"] or not enabled)
    return report


@health_bp.get("/readyz")
def readyz():
    checks = {"database": _database()}
    checks["search"] = _search()
    checks["scheduler"] = _scheduler(checks["database"]["ok"])
    ready = all(check["ok"] for check in checks.values())
    response = jsonify({"status": "ready" if ready else "not ready", "pid": os.getpid(), **checks})
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
