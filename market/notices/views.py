"""The notice list of the current user (their own, their organisation's and their role's)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from market.db import db, utcnow
from market.notices import service
from market.paging import page_of

notices_bp = Blueprint("notices", __name__, url_prefix="/notices")
PAGE_SIZE = 30


@notices_bp.route("/")
@login_required
def index():
    paged = page_of(service.count_for(db.session, current_user), PAGE_SIZE)
    notices = service.notices_for(db.session, current_user, limit=paged.size, offset=paged.offset)
    read = service.read_ids(db.session, current_user, notices)
    return render_template("notices/index.html", notices=notices, read=read, text_of=service.text_of,
                           page=paged.page, pages=paged.pages)


@notices_bp.route("/<int:notice_id>/read", methods=["POST"])
@login_required
def read(notice_id: int):
    notice = service.mark_read(db.session, current_user, notice_id, utcnow())
    db.session.commit()
    return redirect(notice.link or url_for("notices.index"))


@notices_bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    service.mark_all_read(db.session, current_user, utcnow())
    db.session.commit()
    return redirect(url_for("notices.index"))
