"""The public home page and each role's workspace."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from market.db import db
from market.main.counters import home_counters

main_bp = Blueprint("main", __name__)


@main_bp.route("/")
def home():
    return render_template("main/home.html", counters=home_counters(db.session))


@main_bp.route("/workspace")
@login_required
def workspace():
    """The page each role lands on after log-in."""
    return render_template("workspace/home.html", user=current_user)
