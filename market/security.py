"""Password hashing, role checks for views, and safe redirects."""

from __future__ import annotations

import re
from functools import wraps
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort
from flask_login import current_user, login_required

from market.accounts.models import Role


def N_(message: str) -> str:
    """Marks a msgid for extraction; it is translated where it is shown."""
    return message


_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = frozenset(
    {
        "password123", "1234567890", "qwertyuiop", "password1234", "abc1234567", "iloveyou12", "admin12345",
        "1qaz2wsx3edc",
    }
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, email: str = "") -> str | None:
    """Why a password is too weak (an English msgid), or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("The password must be at least 10 characters long.")
    if len(password) > 128:
        return N_("The password must be at most 128 characters long.")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return N_("The password must contain both letters and digits.")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 5:
        return N_("This password is too easy to guess.")
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in password.lower():
        return N_("The password must not contain your e-mail name.")
    return None


def roles_required(*roles: Role):
    """Coarse role gate for views: logged in, and holding one of `roles`. Ownership is checked in services."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after log-in or a language switch."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def bidder_key() -> str:
    """Who a bid rate limit counts: the bearer token (API), else the logged-in user, else the address."""
    import hashlib

    from flask import request

    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return "token:" + hashlib.sha256(auth.encode()).hexdigest()[:32]
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{request.remote_addr}"


def bid_rate_limit():
    """The limit on placing bids (BID_RATE_LIMIT, per bidder): a person bids far more slowly; a script that floods
    the lot's lock is slowed down for everyone else's sake."""
    from flask import current_app

    from market.extensions import limiter

    return limiter.limit(lambda: current_app.config["BID_RATE_LIMIT"], key_func=bidder_key, methods=["POST"])
