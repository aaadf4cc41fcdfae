"""Password hashing, role checks for views, and safe redirects."""

from __future__ import annotations

import re
from functools import wraps
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort
from flask_login import current_user, login_required

from market.accounts.models import Organisation, Role
from market.errors import Forbidden


def N_(message: str) -> str:
    """Marks a msgid for extraction; it is translated where it is shown."""
    return message


_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10
# zxcvbn's score (0-4); 3 means "safely unguessable: moderate protection from an offline attack".
MIN_PASSWORD_SCORE = 3
_DUMMY_HASH: str | None = None

# Pinyin names with digits ("zhangsan1990", "wangxiaoming88") are among the first guesses against Chinese users and
# zxcvbn's English dictionaries do not know them: a common surname followed by at most three more pinyin syllables,
# with digits before or after, is refused.
PINYIN_SURNAMES = frozenset("""
    wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang xie song tang han
    feng deng cao peng zeng xiao tian dong yuan pan cai jiang yu du ye cheng su wei lv lu ding ren shen yao cui zhong
    tan qiu fan jin shi liao jia xia fu fang zou xiong bai meng qin yan hou lei long duan hao kong shao mao wan gu lai
    kang yin qian niu hong gong qi wen chang an bi bao mo ni ge xing tao shan yue mei pang shang fei ji zhan bu
    ouyang situ zhuge shangguan murong sima dongfang huangfu
""".split())
_PINYIN_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|van|ai|ei|ao|ou|an|en|in|un|vn|er|ia|ie|iu|ua|uo|ui|ue|ve"
    r"|a|o|e|i|u|v)"
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_no_password(password: str) -> bool:
    """The same argon2 work as `check_password`, for an e-mail with no account: log-in takes as long either way.
    Always False."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        import secrets

        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    check_password(_DUMMY_HASH, password)
    return False


def _pinyin_syllables(letters: str, limit: int) -> bool:
    """Whether `letters` splits into at most `limit` pinyin syllables."""
    if not letters:
        return True
    if limit == 0:
        return False
    return any(_PINYIN_SYLLABLE.fullmatch(letters[:end]) and _pinyin_syllables(letters[end:], limit - 1)
               for end in range(1, min(len(letters), 6) + 1))


def is_pinyin_name_with_digits(password: str) -> bool:
    """"zhangsan1990", "Wang.XiaoMing-88", "1985liwei": a common surname and a given name in pinyin, plus digits."""
    plain = re.sub(r"[^a-z0-9]", "", password.lower())
    found = re.fullmatch(r"([a-z]+)(\d+)|(\d+)([a-z]+)", plain)
    if not found:
        return False
    letters = found.group(1) or found.group(4)
    return any(letters.startswith(surname) and _pinyin_syllables(letters[len(surname):], 3)
               for surname in PINYIN_SURNAMES)


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """Why a password is too weak (an English msgid), or None when it is acceptable. The strength is zxcvbn's
    estimate (common passwords, keyboard patterns, dates, the user's own e-mail and name) plus pinyin names."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("The password must be at least 10 characters long.")
    if len(password) > 128:
        return N_("The password must be at most 128 characters long.")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return N_("The password must contain both letters and digits.")
    if is_pinyin_name_with_digits(password):
        return N_("A name in pinyin with a year or other digits is easy to guess. Use a few unrelated words.")
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in password.lower():
        return N_("The password must not contain your e-mail name.")
    from zxcvbn import zxcvbn

    own = [part for part in {email, local, *re.split(r"[@._+-]", email), name, *name.split()} if part]
    if zxcvbn(password[:72], user_inputs=own)["score"] < MIN_PASSWORD_SCORE:
        return N_("This password is too easy to guess. Use a few unrelated words, or a longer password.")
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


# What a refused actor reads: the one role the operation needs, or the general refusal when it takes several.
ONLY = {
    Role.ENTERPRISE: N_("Only enterprises can do this."),
    Role.BANK: N_("Only banks can do this."),
    Role.STAFF: N_("Only exchange staff can do this."),
    Role.VALUER: N_("Only valuers can do this."),
    Role.BIDDER: N_("Only bidders can do this."),
}


def require(actor, *roles: Role, verified: bool = True, message: str | None = None) -> Organisation | None:
    """The one actor guard of services: `actor` holds one of `roles` and, when `verified`, may change market
    state (an active account of a verified organisation, see `User.can_act`). Raises Forbidden with `message`, or
    the standard refusal for the role; returns the actor's organisation (None for a person bidder)."""
    if actor is None or getattr(actor, "role", None) not in roles:
        raise Forbidden(message or (ONLY[roles[0]] if len(roles) == 1 and roles[0] in ONLY
                                    else N_("Your role cannot do this.")))
    if verified and not actor.can_act:
        raise Forbidden(N_("Your organisation must be verified before it can act."))
    return actor.organisation


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
