"""The notice list of the current user (their own, their organisation's and their role's)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from market.db import db, utcnow
from market.notices import service

notices_bp = Blueprint("notices", __name__, url_prefix="/notices")


@notices_bp.route("/")
@login_required
def index():
    notices = service.notices_for(db.session, current_user)
    return render_template("notices/index.html", notices=notices, text_of=service.text_of)


@notices_bp.route("/<int:notice_id>/read", methods=["POST"])
@login_required
def read(notice_id: int):
    service.mark_read(db.session, current_user, notice_id, utcnow())
    db.session.commit()
    return redirect(url_for("notices.index"))
