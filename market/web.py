"""Binding extensions, blueprints, error pages and security headers to the app."""

from __future__ import annotations

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from market import i18n, models  # noqa: F401  (models: every table registered on the metadata)
from market.api import json_error
from market.errors import DomainError
from market.extensions import api, babel, csrf, db, limiter, login_manager, talisman
from search import SearchUnavailable

CSP = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "style-src": "'self'",
    "script-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: at most 10 digits and within an INTEGER column (market.db.MAX_ID), so an id no
    row can have is a 404 from routing, never an overflow in the driver (2**63) or in int() (thousands of digits)."""

    regex = r"\d{1,10}"

    def __init__(self, map, *args, **kwargs):
        from market.db import MAX_ID

        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error_answer(status: int, code: str, message: str, details=None):
    """An error as the caller reads it: the API's JSON envelope under /api/, else the error page."""
    if _wants_json():
        return json_error(status, code, message, details)
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    from market.sanitize import CleanRequest

    app.request_class = CleanRequest  # control characters are stripped from every form, query and JSON text
    db.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    from market.main import labels

    labels.init_app(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
        strict_transport_security=app.config["FORCE_HTTPS"],
    )

    from market.accounts.views import auth_bp, orgs_bp
    from market.areas import all_areas, collect
    from market.health import health_bp
    from market.main.views import main_bp
    from market.staff.views import staff_bp

    for bp in (main_bp, auth_bp, orgs_bp, staff_bp, health_bp, *collect("blueprints")):
        app.register_blueprint(bp)
    for area in all_areas():
        if hasattr(area, "init_app"):
            area.init_app(app)

    from market.api import init_api
    from market.cli import register as register_cli

    init_api(app, api)
    register_cli(app)
    _register_errors(app)

    @app.context_processor
    def _globals():
        from market.i18n import select_locale

        return {"current_locale": select_locale()}


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _("The form expired or did not come from this site. Please try again.")
        return _error_answer(400, "csrf", message)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return _error_answer(error.status, error.code, error.localized())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {
            400: _("The request could not be understood."),
            401: _("Please log in."),
            403: _("You do not have permission to do this."),
            404: _("This page does not exist."),
            405: _("This method is not allowed here."),
            409: _("This conflicts with the current state."),
            413: _("The upload is too large."),
            415: _("Send the body as JSON (Content-Type: application/json)."),
            422: _("The request was not valid."),
            429: _("Too many attempts. Please wait a moment and try again."),
        }
        status = error.code or 500
        message = messages.get(status, error.description or _("Something went wrong."))
        details = getattr(error, "data", {}).get("messages") if hasattr(error, "data") and _wants_json() else None
        return _error_answer(status, error.name.lower().replace(" ", "_"), message, details)

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        """The database is locked, down or the connection dropped: say so plainly, nothing was saved."""
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it on the next request
            db.session.remove()
        # The page must not touch the database again: the user (and its language) would be loaded from it.
        g._login_user = login_manager.anonymous_user()
        message = _("The database is busy or unreachable. Nothing was saved; please try again in a moment.")
        if _wants_json():
            response = json_error(503, "database_unavailable", message)
        else:
            try:
                response = app.make_response((render_template("error.html", status=503, message=message), 503))
            except Exception:  # noqa: BLE001 - the page itself may need the database (the current user)
                response = app.make_response((message, 503, {"Content-Type": "text/plain; charset=utf-8"}))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(DataError)
    def value_out_of_range(error):
        """A value the database refuses (a number too large for its column, ...) that no validation caught: the
        request was wrong, not the server. Rolled back, so nothing is half-written."""
        db.session.rollback()
        message = _("A value is too large or not in the expected form. Nothing was saved.")
        return _error_answer(422, "invalid_value", message)

    @app.errorhandler(SearchUnavailable)
    def search_unavailable(error):
        message = _("Search is temporarily unavailable. Nothing was lost; please try again in a moment.")
        return _error_answer(503, "search_unavailable", message)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        message = _("Something went wrong on our side. Nothing was saved.")
        return _error_answer(500, "internal", message)

    @app.route("/language/<code>", methods=["POST"])
    def set_language(code: str):
        from flask_login import current_user

        from market.accounts.service import set_locale
        from market.db import utcnow

        if code not in app.config["LANGUAGES"]:
            return redirect(url_for("main.home"))
        session["locale"] = code
        if current_user.is_authenticated:
            set_locale(db.session, current_user, code, utcnow())
            db.session.commit()
        else:
            session["locale_picked"] = True  # kept for the account at the next log-in (see accounts.views.login)
        target = request.form.get("next", "")
        from market.security import safe_next

        return redirect(safe_next(target) or url_for("main.home"))
