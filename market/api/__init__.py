"""The JSON API under /api/v1 (flask-smorest: schemas validate input and generate the OpenAPI document)."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask_smorest import Api
from marshmallow import Schema, fields
from marshmallow import fields as ma_fields

from market.extensions import csrf

# Area modules register their blueprints here (import order = order in the OpenAPI document).
API_MODULES = ["market.api.tokens"]


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    details = fields.Raw(metadata={"description": "Per-field messages when the input was not valid"})


class ApiError(Schema):
    """What every error looks like: `{"error": {"code", "message"}}` (see market.web.json_error)."""

    error = fields.Nested(ErrorDetail, required=True)


DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _decimal_fields(self, field, ret, **kwargs) -> dict:
    """Decimals in the document as they travel.

    - apispec copies a `Range(min=Decimal("0"))` bound as a Decimal, which the JSON document then carries as the
      string "0"; JSON Schema wants a number there.
    - `fields.Decimal(as_string=True)` (money, rates) is sent as a decimal string ("1500000.00"), but apispec
      documents it as a number: it is documented as a string of that shape (inputs also take numbers)."""
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        value = ret.get(key)
        if isinstance(value, Decimal):
            ret[key] = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(field, ma_fields.Decimal) and field.as_string and ret.get("type") == "number":
        ret["type"] = "string"
        ret["format"] = "decimal"
        ret["pattern"] = DECIMAL_PATTERN
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if key in ret:  # kept for readers; JSON Schema ignores number bounds on strings
                ret[f"x-{key}"] = ret.pop(key)
    return ret


def init_api(app: Flask, api: Api) -> None:
    import importlib

    # The document describes the error envelope the app really sends (flask-smorest's default differs).
    api.ERROR_SCHEMA = ApiError
    api.init_app(app)
    converter = api.ma_plugin.converter  # a new spec (and converter) per app
    if not any(getattr(f, "__name__", "") == "_decimal_fields" for f in converter.attribute_functions):
        converter.add_attribute_function(_decimal_fields)
    from market.areas import collect

    blueprints = [importlib.import_module(name).blp for name in API_MODULES] + collect("api_blueprints")
    for blp in blueprints:
        csrf.exempt(blp)
        api.register_blueprint(blp)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    app.before_request(_ids_in_range)
    from market.api.auth import token_first

    app.before_request(token_first)




def _ids_in_range():
    """An id in an API path that no database column can hold is simply not found (not a 500 from the driver)."""
    from flask import abort, request

    from market.api.fields import MAX_ID

    if request.path.startswith("/api/") and request.view_args:
        if any(isinstance(v, int) and not -MAX_ID <= v <= MAX_ID for v in request.view_args.values()):
            abort(404)


def commit_or_rollback(call):
    """Run one service call and commit; on a refusal roll back so nothing of it is kept, and let the error answer."""
    from market.db import db
    from market.errors import DomainError

    try:
        result = call()
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return result
