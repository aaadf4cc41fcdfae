"""/api/v1/docs (interactive API documentation) and /account/api-tokens (a user's bearer tokens)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from market.api.auth import issue_token, list_tokens, revoke_token
from market.apidocs.forms import TokenForm
from market.db import db, utcnow
from market.errors import DomainError

apidocs_bp = Blueprint("apidocs", __name__)

# The files of Swagger UI the page needs, from the swagger-ui-bundle package (served by us, never from a CDN).
VENDOR_FILES = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}


def swagger_ui_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(swagger_ui_path)
    return path if (path / "swagger-ui-bundle.js").exists() else None


def operations() -> list[dict]:
    """Every operation of the OpenAPI document, for the page's server-rendered list."""
    from market.extensions import api

    spec = api.spec.to_dict()
    out = []
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters":
                continue
            params = [p for p in shared + op.get("parameters", []) if isinstance(p, dict) and "name" in p]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            out.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "description": op.get("description", ""), "tag": (op.get("tags") or [""])[0],
                        "secured": bool(op.get("security")), "parameters": params,
                        "body": body.get("$ref", "").rsplit("/", 1)[-1],
                        "responses": sorted(op.get("responses", {}))})
    return out


@apidocs_bp.get("/api/v1/docs")
def docs():
    return render_template("apidocs/docs.html", operations=operations(), has_ui=swagger_ui_dir() is not None,
                           spec_url=url_for("api-docs.openapi_json"))


@apidocs_bp.get("/api/v1/docs/vendor/<path:filename>")
def vendor(filename: str):
    folder = swagger_ui_dir()
    if folder is None or filename not in VENDOR_FILES:
        abort(404)
    return send_from_directory(folder, filename, max_age=current_app.get_send_file_max_age(filename))


@apidocs_bp.route("/account/api-tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        scopes = " ".join(s for s in ("read", "write") if s in form.scopes.data)
        _token, secret = issue_token(db.session, current_user, form.name.data.strip(), scopes, utcnow())
        db.session.commit()
        form = TokenForm(formdata=None)
    return render_template("apidocs/tokens.html", form=form, secret=secret,
                           tokens=list_tokens(db.session, current_user))


@apidocs_bp.post("/account/api-tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    from flask_wtf import FlaskForm

    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        revoke_token(db.session, current_user, token_id, utcnow())
    except DomainError as exc:
        flash(exc.localized(), "error")
        return redirect(url_for("apidocs.tokens"))
    db.session.commit()
    flash(_("The token was revoked; systems using it are refused from now on."), "success")
    return redirect(url_for("apidocs.tokens"))
