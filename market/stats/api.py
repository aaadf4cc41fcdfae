"""JSON API of the statistics: the public dashboard's headline figures and tables (the staff tables need a staff
token). Amounts are decimal strings, rates fractions as decimal strings."""

from __future__ import annotations

from decimal import Decimal

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from market.accounts.models import Role
from market.api.auth import api_user
from market.api.fields import derived
from market.db import db
from market.errors import NotFound
from market.stats import figures, tables

blp = Blueprint("stats_api", __name__, url_prefix="/api/v1", description="Statistics and transparency")


class Headline(Schema):
    verified_banks = fields.Integer(required=True)
    banks_with_loans = fields.Integer(required=True)
    loans = fields.Integer(required=True)
    principal = fields.Decimal(as_string=True, required=True)
    enterprises_with_needs = fields.Integer(required=True)
    valid_patents = fields.Integer(required=True)
    valid_invention_patents = fields.Integer(required=True)
    defaulted_loans = fields.Integer(required=True)
    default_rate = fields.Decimal(as_string=True, allow_none=True, required=True)
    recovery_rate = fields.Decimal(as_string=True, allow_none=True, required=True)
    recovered = fields.Decimal(as_string=True, required=True)
    disposals_settled = fields.Integer(required=True)
    compensation_paid = fields.Decimal(as_string=True, required=True)
    claims_paid = fields.Integer(required=True)
    fund_balance = fields.Decimal(as_string=True, allow_none=True, required=True)
    intermediary_rewards_paid = fields.Decimal(as_string=True, required=True)
    interest_subsidies_paid = fields.Decimal(as_string=True, required=True)
    median_need_to_loan_days = fields.Decimal(as_string=True, allow_none=True, required=True)


def _plain(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)


class TableOut(Schema):
    """A table of the dashboard (`market.stats.tables.Table`), dumped from the object."""

    name = fields.String(required=True)
    title = fields.String(required=True)
    headers = fields.List(fields.String(), required=True)
    kinds = derived(fields.List(fields.List(fields.String()), required=True, metadata={
        "description": "Per row and column: text, int, money, percent (a fraction) or number"}),
        lambda table: [[kind for _value, kind in row] for row in table.cells()])
    rows = derived(fields.List(fields.List(fields.Raw(allow_none=True)), required=True, metadata={
        "description": "Numbers as JSON integers, amounts and fractions as decimal strings, empty as null"}),
        lambda table: [[_plain(value) for value in row] for row in table.rows])


class TableNames(Schema):
    public = fields.List(fields.String(), required=True)
    staff = fields.List(fields.String(), required=True)


@blp.route("/stats")
class Stats(MethodView):
    @blp.response(200, Headline)
    def get(self):
        """The dashboard's headline figures, computed live (no token needed)."""
        return figures.headline(db.session)


@blp.route("/stats/tables")
class StatsTables(MethodView):
    @blp.response(200, TableNames)
    def get(self):
        """The names of the tables: public ones, and those that need a staff token."""
        return {"public": list(tables.PUBLIC_TABLES), "staff": list(tables.STAFF_TABLES)}


@blp.route("/stats/tables/<string:name>")
class PublicTable(MethodView):
    @blp.response(200, TableOut)
    def get(self, name):
        """One public table of the dashboard (as in its CSV export)."""
        if name not in tables.PUBLIC_TABLES:
            raise NotFound("No such table.")
        return tables.table(db.session, name)


@blp.route("/stats/staff-tables/<string:name>")
class StaffTable(MethodView):
    @blp.response(200, TableOut)
    @api_user(Role.STAFF, scope="read")
    def get(self, name, actor):
        """One staff table (names of enterprises and valuers): staff tokens only."""
        if name not in tables.STAFF_TABLES:
            raise NotFound("No such table.")
        return tables.table(db.session, name)
