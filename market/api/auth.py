"""Bearer-token authentication for the API: `Authorization: Bearer <token>`; only the token's hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import wraps

from flask import g, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload

from market.accounts.models import ApiToken, Role, User
from market.errors import DomainError, Forbidden, NotFound

TOKEN_PREFIX = "ipm_"
SCOPES = ("read", "write")
# last_used_at is written at most this often per token (a read through the API should not write on every call).
LAST_USED_RESOLUTION = timedelta(seconds=60)


class Unauthorized(DomainError, status=401, code="unauthorized"):
    """No valid bearer token."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str, scopes: str, now: datetime) -> tuple[ApiToken, str]:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(secret), prefix=secret[:10], scopes=scopes,
                     created_at=now)
    session.add(token)
    session.flush()
    return token, secret


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they show when they were revoked)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, user: User, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of the user's own tokens (idempotent: revoking twice keeps the first time)."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token


def user_for_token(session: Session, secret: str, now: datetime | None = None) -> User | None:
    """The active user behind a valid, unrevoked token (None otherwise); marks the token as used at `now`.
    One query: the token with its user and the user's organisation."""
    if not secret:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret))
                           .options(joinedload(ApiToken.user).joinedload(User.organisation)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    g.api_token = token
    if now is not None and (token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION):
        token.last_used_at = now
        g.api_token_touched = True
    return token.user


_BEARER = "market.bearer_user"  # the request's bearer user, once looked up (kept in the WSGI environ of the request)


def bearer_user() -> User | None:
    """The user of the request's `Authorization: Bearer` token, or None; looked up once per request (by
    `token_first` before the body is read, then reused by `api_user`)."""
    from market.db import db, utcnow

    if _BEARER not in request.environ:
        scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
        request.environ[_BEARER] = (user_for_token(db.session, secret.strip(), utcnow())
                                    if scheme.lower() == "bearer" else None)
    return request.environ[_BEARER]


BEARER = [{"bearer": []}]  # the security requirement of an endpoint behind `api_user` (see the API document)


def api_user(*roles: Role, scope: str = "read"):
    """Require a valid bearer token (and one of `roles`, when given); the user is passed as `actor`. The API
    document lists the endpoint as needing the token."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from market.db import db

            user = bearer_user()
            if user is None:
                raise Unauthorized("A valid bearer token is required.")
            if g.pop("api_token_touched", False):
                try:
                    db.session.commit()  # only last_used_at is pending here; the view's own work commits later
                except OperationalError:
                    # last_used_at is advisory. On SQLite a concurrent writer makes this read-then-write
                    # transaction fail at once (it cannot upgrade its snapshot); skip the mark, serve the request.
                    db.session.rollback()
            if scope not in g.api_token.scopes.split():
                raise Forbidden("This token lacks the %(scope)s scope.", scope=scope)
            if roles and user.role not in roles:
                raise Forbidden("Your role cannot use this endpoint.")
            return view(*args, actor=user, **kwargs)

        wrapped.requires_token = True  # copied outwards by the decorators above it (functools.wraps)
        # The API document says so too: what `@blp.doc(security=BEARER)` adds (flask-smorest merges the docs).
        apidoc = dict(getattr(wrapped, "_apidoc", {}))
        apidoc["manual_doc"] = {**apidoc.get("manual_doc", {}), "security": BEARER}
        wrapped._apidoc = apidoc
        return wrapped

    return decorator


def endpoint_requires_token(app) -> bool:
    """Whether the request's endpoint (a function, or a MethodView's method) is guarded by `api_user`."""
    view = app.view_functions.get(request.endpoint or "")
    if view is None:
        return False
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, request.method.lower(), None)
    return bool(getattr(view, "requires_token", False))


def token_first():
    """Before the body is read: a guarded endpoint without a valid bearer token is a 401, whatever the body (the
    argument decorators run before `api_user`, so a bad body from an anonymous caller was a 422)."""
    from flask import current_app

    if not request.path.startswith("/api/") or not endpoint_requires_token(current_app):
        return None
    if bearer_user() is None:
        raise Unauthorized("A valid bearer token is required.")
    return None
