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
    for name in API_MODULES:
        module = importlib.import_module(name)
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
