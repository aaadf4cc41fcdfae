"""POST /api/v1/tokens: exchange e-mail and password for a bearer token."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from market.accounts import service
from market.api.auth import api_user, issue_token
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


class MeResponse(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    organisation = fields.String(allow_none=True)
    organisation_verified = fields.Boolean()


@blp.route("/tokens")
class Tokens(MethodView):
    decorators = [limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])]

    @blp.arguments(TokenRequest)
    @blp.response(201, TokenResponse)
    def post(self, data):
        """Issue a bearer token for a user's e-mail and password."""
        now = utcnow()
        try:
            user = service.authenticate(db.session, data["email"], data["password"], now)
        except service.InvalidInput as exc:
            from market.api.auth import Unauthorized

            raise Unauthorized(exc.message) from exc
        token, secret = issue_token(db.session, user, data["name"], data["scopes"], now)
        db.session.commit()
        return {"token": secret, "id": token.id, "scopes": token.scopes}


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeResponse)
    @blp.doc(security=[{"bearer": []}])
    @api_user()
    def get(self, actor):
        """The user behind the token."""
        org = actor.organisation
        return {"id": actor.id, "email": actor.email, "name": actor.name, "role": actor.role.value,
                "organisation": org.name if org else None, "organisation_verified": bool(org and org.is_verified)}
