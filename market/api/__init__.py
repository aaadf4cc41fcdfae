"""The JSON API under /api/v1 (flask-smorest: schemas validate input and generate the OpenAPI document)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from flask import Flask, jsonify
from flask_smorest import Api
from marshmallow import Schema, fields
from marshmallow import fields as ma_fields

from market.bounded import MAX_TEXT
from market.extensions import csrf

# Area modules register their blueprints here (import order = order in the OpenAPI document).
API_MODULES = ["market.api.tokens", "market.api.orgs"]


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    details = fields.Raw(metadata={"description": "Per-field messages when the input was not valid"})


class ApiError(Schema):
    """What every error looks like: `{"error": {"code", "message"}}` (see json_error)."""

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


def json_error(status: int, code: str, message: str, details=None):
    """The one error envelope of the API (and of any JSON answer the app gives)."""
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


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
    from market.api.auth import token_first

    app.before_request(token_first)  # a guarded endpoint without a token is a 401 whatever its body
    app.before_request(json_body_only)




MAX_JSON_DEPTH = 32  # no request schema nests deeper than a few levels
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_LONG_NUMBER = re.compile(rf"[-+0-9.eE]{{{MAX_TEXT + 1},}}")  # longer than any amount, rate, id or count


def json_body_only():
    """Every API request with a body: JSON or 415, and JSON a parser can read without blowing up, or 400.

    webargs reads a body of another type as `{}` (a form-encoded request would act with every field defaulted), and
    Python's json raises RecursionError on deep nesting and ValueError on integers of 4,300+ digits: the body is
    checked here, once for every API endpoint, before any parser sees it."""
    from flask import abort, request
    from flask_babel import gettext as _

    if not request.path.startswith("/api/") or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    body = request.get_data(cache=True)
    if not body.strip():
        return None
    if not request.is_json:
        abort(415)
    try:
        text = body.decode(request.mimetype_params.get("charset", "utf-8"))
    except (UnicodeDecodeError, LookupError):
        return json_error(400, "bad_json", _("The body is not valid JSON."))
    bare = _JSON_STRING.sub('""', text)
    depth = deepest = 0
    for char in re.findall(r"[\[\]{}]", bare):
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_JSON_DEPTH or _JSON_LONG_NUMBER.search(bare):
        return json_error(400, "bad_json", _("The JSON body is nested too deeply or holds a number too long."))
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return json_error(400, "bad_json", _("The body is not valid JSON."))
    return None
