"""Bearer tokens: `POST /api/v1/tokens` exchanges e-mail and password for a token; `GET /api/v1/tokens` lists the
caller's tokens (prefix, scopes, created, last used, revoked); `DELETE /api/v1/tokens/{token_id}` revokes one."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from market.accounts import service
from market.api.auth import api_user, issue_token, list_tokens, revoke_token
from market.api.fields import UtcDateTime
from market.api.pages import items_of
from market.db import db, utcnow
from market.extensions import limiter

blp = Blueprint("tokens", __name__, url_prefix="/api/v1", description="Authentication")


class TokenRequest(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    name = fields.String(load_default="api", validate=validate.Length(max=60))
    scopes = fields.String(load_default="read write", validate=validate.Regexp(r"^(read|write)( (read|write))*$"))


class TokenResponse(Schema):
    token = fields.String(required=True)
    id = fields.Integer()
    scopes = fields.String()


class TokenInfo(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "The first characters of the secret"})
    scopes = fields.List(fields.String(), required=True)
    created_at = UtcDateTime(required=True)
    last_used_at = UtcDateTime(allow_none=True, required=True)
    revoked_at = UtcDateTime(allow_none=True, required=True)
    active = fields.Boolean(required=True)


TokenList = items_of(TokenInfo, "TokenList", required=True)


def token_info(token) -> dict:
    return {"id": token.id, "name": token.name, "prefix": token.prefix, "scopes": token.scopes.split(),
            "created_at": token.created_at, "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at, "active": token.revoked_at is None}


class MeResponse(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    organisation = fields.String(allow_none=True)
    organisation_id = fields.Integer(allow_none=True)
    organisation_kind = fields.String(allow_none=True)
    organisation_verified = fields.Boolean()


@blp.route("/tokens")
class Tokens(MethodView):
    decorators = [limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])]

    @blp.response(200, TokenList)
    @api_user(scope="read")
    def get(self, actor):
        """The caller's tokens, newest first (the secret itself is never shown again)."""
        return {"items": [token_info(t) for t in list_tokens(db.session, actor)]}

    @blp.arguments(TokenRequest)
    @blp.response(201, TokenResponse)
    def post(self, data):
        """Issue a bearer token for a user's e-mail and password."""
        now = utcnow()
        try:
            user = service.authenticate(db.session, data["email"], data["password"], now)
        except service.WrongCredentials as exc:
            from market.api.auth import Unauthorized

            db.session.rollback()
            service.note_login_failure(db.session, data["email"], now)
            db.session.commit()
            raise Unauthorized(exc.message) from exc
        token, secret = issue_token(db.session, user, data["name"], data["scopes"], now)
        db.session.commit()
        return {"token": secret, "id": token.id, "scopes": token.scopes}


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @blp.response(200, TokenInfo)
    @api_user(scope="write")
    def delete(self, token_id, actor):
        """Revoke one of the caller's tokens; it is refused (401) from then on."""
        token = revoke_token(db.session, actor, token_id, utcnow())
        db.session.commit()
        return token_info(token)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeResponse)
    @api_user()
    def get(self, actor):
        """The user behind the token."""
        org = actor.organisation
        return {"id": actor.id, "email": actor.email, "name": actor.name, "role": actor.role.value,
                "organisation": org.name if org else None, "organisation_id": org.id if org else None,
                "organisation_kind": org.kind.value if org else None,
                "organisation_verified": bool(org and org.is_verified)}
