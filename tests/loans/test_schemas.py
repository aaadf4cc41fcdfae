"""The loans API schemas dump the objects; a figure the object does not hold (`derived`) keeps its field's type in
the OpenAPI document and is computed from the object."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from marshmallow import fields

from market.api.fields import derived
from market.loans.schemas import LoanDetailOut, money_out


def test_a_derived_field_is_documented_as_its_own_type(client):
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    loan = spec["LoanOut"]["properties"]
    assert loan["outstanding_principal"] == loan["principal"]  # derived money, like an attribute's
    assert loan["proposed_asset_ids"]["type"] == "array" and loan["proposed_asset_ids"]["items"]["type"] == "integer"
    assert loan["shares_on_total_loss"]["type"] == "object"
    assert spec["ClaimOut"]["properties"]["checklist"]["type"] == "array"


def test_a_derived_field_computes_its_value_from_the_object():
    field = derived(money_out(), lambda obj: obj["a"] + obj["b"])
    assert isinstance(field, fields.Decimal)
    assert field.serialize("total", {"a": Decimal("1.10"), "b": Decimal("2")}) == "3.10"


def test_a_loan_dumps_with_its_schedule_and_figures(world):
    loan = world.loan(principal="1200000", term=12, signed_on=date(2016, 3, 1))
    body = LoanDetailOut().dump(loan)
    assert body["outstanding_principal"] == "1200000.00" and body["policy"] == loan.policy.code
    assert len(body["schedule"]) == 12 and body["schedule"][0] == {
        "seq": 1, "due_on": "2016-04-01", "principal": "100000.00", "interest": body["schedule"][0]["interest"]}
    assert set(body["shares_on_total_loss"]) == {"loss", "collateral", "guarantor", "counter_guarantor", "insurer",
                                                 "government", "bank"}
    assert body["watch_flags"] == [] and body["proposed_asset_ids"] == [a.asset_id for a in loan.pledges]
