"""The JSON API under /api/v1 (flask-smorest: schemas validate input and generate the OpenAPI document)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from market.extensions import csrf

# Area modules register their blueprints here (import order = order in the OpenAPI document).
API_MODULES = ["market.api.tokens"]


def init_api(app: Flask, api: Api) -> None:
    import importlib

    api.init_app(app)
    from market.areas import collect

    blueprints = [importlib.import_module(name).blp for name in API_MODULES] + collect("api_blueprints")
    for blp in blueprints:
        csrf.exempt(blp)
        api.register_blueprint(blp)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
