"""Bearer-token authentication for the API: `Authorization: Bearer <token>`; only the token's hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import wraps

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import ApiToken, Role, User
from market.errors import DomainError, Forbidden

TOKEN_PREFIX = "ipm_"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str, scopes: str, now: datetime) -> tuple[ApiToken, str]:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(secret), prefix=secret[:10], scopes=scopes,
                     created_at=now)
    session.add(token)
    session.flush()
    return token, secret


def user_for_token(session: Session, secret: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    g.api_token = token
    return token.user


def api_user(*roles: Role, scope: str = "read"):
    """Require a valid bearer token (and one of `roles`, when given); the user is passed as `actor`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from market.db import db

            header = request.headers.get("Authorization", "")
            scheme, _sep, secret = header.partition(" ")
            user = user_for_token(db.session, secret.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                raise Unauthorized("A valid bearer token is required.")
            if scope not in g.api_token.scopes.split():
                raise Forbidden("This token lacks the %(scope)s scope.", scope=scope)
            if roles and user.role not in roles:
                raise Forbidden("Your role cannot use this endpoint.")
            return view(*args, actor=user, **kwargs)

        return wrapped

    return decorator
