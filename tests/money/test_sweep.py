"""Every money and rate field, on the web forms and in the API, refuses hostile values: nothing stored, a clear
message in the page's language (zh_CN by default), never a 500. Plus the bad input of issue #12 §7: a 4xx.

The field lists are found, not typed: every WTForms form class of the market and every JSON argument schema of
the API are walked, so a new field that carries money or a rate is swept (or fails the census) without editing
this file."""

from __future__ import annotations

import importlib
import pkgutil
import re
from decimal import Decimal

import pytest
from flask_wtf import FlaskForm
from marshmallow import Schema
from marshmallow import fields as ma
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import fields as wt

import market
from market.accounts.models import Role
from market.api.fields import BoundedDecimal
from market.api.tokens import issue_token
from market.audit.models import AuditEntry
from market.formkit import DecimalInput
from tests.conftest import NOW

# Values that broke one surface or another: not numbers, not finite, beyond the Money column, below a rate's
# places, negative, absurd exponents.
HOSTILE_TEXT = ["Infinity", "-Infinity", "sNaN", "NaN", "1e309", "1E+30", "99,999,999,999,999,999,999.99",
                "99999999999999999999.99", "1e-40", "0.0000001", "-1", "9" * 500]
HOSTILE_JSON = [*HOSTILE_TEXT, 1e308, 1e-40, -1, 10**30]
# What the bounded field says (market/bounded.py), in Chinese: the page's default language.
ZH_MESSAGES = re.compile("请输入普通数字|请输入不小于|请输入不大于|请输入大于|请输入小于|最多保留")
MONEY_OR_RATE_NAME = re.compile(r"amount|price|rate|coverage|premium|principal|interest|recovery|valuation|"
                                r"value|ltv|cap\b|ceiling|deposit|increment")


def _modules(suffix: str):
    for info in pkgutil.walk_packages(market.__path__, "market."):
        if info.name.endswith(suffix):
            yield importlib.import_module(info.name)


def form_classes() -> list[type[FlaskForm]]:
    found = {}
    for module in _modules(".forms"):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, FlaskForm) and value is not FlaskForm:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[k] for k in sorted(found)]


def unbound_fields(form_cls):
    for name in dir(form_cls):
        value = getattr(form_cls, name, None)
        if hasattr(value, "field_class") and hasattr(value, "kwargs"):
            yield name, value


FORM_FIELDS = [(cls, name) for cls in form_classes() for name, unbound in unbound_fields(cls)
               if issubclass(unbound.field_class, DecimalInput)]


def test_census_every_web_number_that_carries_money_or_a_rate_is_the_bounded_field():
    """No DecimalField or FloatField is left on any form; every field named like money or a rate is DecimalInput."""
    loose = []
    for cls in form_classes():
        for name, unbound in unbound_fields(cls):
            kind = unbound.field_class
            if issubclass(kind, wt.DecimalField | wt.FloatField | wt.DecimalRangeField):
                loose.append(f"{cls.__name__}.{name}: {kind.__name__}")
            elif issubclass(kind, wt.IntegerField | wt.StringField) and MONEY_OR_RATE_NAME.search(name) \
                    and not name.endswith(("_id", "_ids", "_bp", "_months", "value_type")):
                loose.append(f"{cls.__name__}.{name}: {kind.__name__}")
    assert not loose, loose
    assert len(FORM_FIELDS) >= 40, FORM_FIELDS


@pytest.mark.parametrize("form_cls, name", FORM_FIELDS, ids=[f"{c.__name__}.{n}" for c, n in FORM_FIELDS])
def test_every_web_money_and_rate_field_refuses_hostile_values_in_chinese(app, form_cls, name):
    with app.test_request_context("/", method="POST"):
        for value in HOSTILE_TEXT:
            form = form_cls(formdata=MultiDict({name: value}), meta={"csrf": False})
            field = form[name]
            assert not field.validate(form), (name, value, field.data)
            assert field.data is None or not isinstance(field.data, Decimal) or field.data.is_finite()
            message = " ".join(map(str, field.errors))
            assert ZH_MESSAGES.search(message), (name, value, message)
            field._value()  # the form shown again renders what was typed, never a quantize() error


# ------------------------------------------------------------------------------------------------ the API


def _json_schemas(app):
    """(rule, method, schema) of every API operation that takes a JSON body."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS", "GET"}):
            func = getattr(view_class, method.lower(), None) if view_class else view
            for param in getattr(func, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                if param.get("location", "json") == "json":
                    schema = param["schema"]
                    yield rule.rule, method, schema() if isinstance(schema, type) else schema


def _number_fields(schema: Schema, prefix=()):
    for name, field in schema.fields.items():
        key = field.data_key or name
        if isinstance(field, ma.Nested):
            yield from _number_fields(field.schema, (*prefix, key))
        elif isinstance(field, ma.Dict) and field.value_field is not None:
            yield (*prefix, key, "invention"), field.value_field
        elif isinstance(field, ma.List):
            yield (*prefix, key, 0), field.inner
        else:
            yield (*prefix, key), field


def api_fields(app):
    found = []
    for rule, method, schema in _json_schemas(app):
        for path, field in _number_fields(schema):
            if isinstance(field, ma.Decimal | ma.Float) or (isinstance(field, ma.Number)
                                                             and not isinstance(field, ma.Integer)):
                found.append((rule, method, path, field))
    return found


def test_census_every_api_money_and_rate_input_is_the_bounded_field(app):
    fields_ = api_fields(app)
    assert len(fields_) >= 40, [(r, p) for r, _m, p, _f in fields_]
    loose = [(rule, method, path) for rule, method, path, field in fields_ if not isinstance(field, BoundedDecimal)]
    assert not loose, loose


def _body(path, value):
    body = value
    for key in reversed(path):
        body = [body] if key == 0 else {key: body}
    return body


def _audits(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def test_every_api_money_and_rate_field_refuses_hostile_values(app, client, session, factory):
    staff = factory.user(Role.STAFF)
    headers = {"Authorization": f"Bearer {issue_token(session, staff, 'sweep', 'read write', NOW)[1]}",
               "Accept-Language": "zh-CN"}
    before = _audits(session)
    for rule, method, path, _field in api_fields(app):
        url = re.sub(r"<(?:int:)?\w+>", "1", rule)
        for value in HOSTILE_JSON:
            r = client.open(url, method=method, json=_body(path, value), headers=headers)
            assert r.status_code == 422, (url, method, path, value, r.status_code, r.get_json())
            details = r.get_json()["error"]["details"]["json"]
            for key in path:  # the message sits under the field's own path
                details = details.get(str(key)) or details.get(key) or details.get("value") or {}
                if not isinstance(details, dict):
                    break
            assert ZH_MESSAGES.search(str(details)), (url, path, value, r.get_json())
    assert _audits(session) == before


# ------------------------------------------------------------------------------------------------ pages


def _refusal_text(client, response) -> str:
    if response.status_code in (302, 303):
        with client.session_transaction() as flashes:
            return " ".join(str(m) for _c, m in flashes.get("_flashes", []))
    return response.get_data(as_text=True)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _pages():
    from market.exchange.models import Bid, Listing
    from market.loans.models import LedgerTxn, Loan, Repayment
    from market.needs.models import LoanProduct, Need, Offer
    from market.policy.models import Policy, ReferenceRate
    from market.valuations.models import Valuation

    plan = {"loan_amount": "1000000", "annual_rate": "5", "benchmark_rate": "4.35", "term_months": "12"}
    return [
        (None, "/plans", plan, list(plan)[:3] + ["guarantee_coverage", "guarantee_premium", "insurance_coverage",
                                                 "insurance_premium"], None),
        (Role.ENTERPRISE, "/needs/new", {"title": "技改", "amount": "3000000", "term_months": "12",
                                         "max_rate_pct": "6", "purpose": "购置设备"},
         ["amount", "max_rate_pct", "tangible_value"], Need),
        (Role.BANK, "/needs/products/new", {"name": "知识产权贷", "min_amount": "100000", "max_amount": "5000000",
                                            "min_term_months": "6", "max_term_months": "36", "min_rate_pct": "4",
                                            "max_rate_pct": "8", "accepted_kinds": "invention"},
         ["min_amount", "max_amount", "min_rate_pct", "max_rate_pct", "ltv_invention", "ltv_design"], LoanProduct),
        (Role.BANK, "/needs/1/offer", {"amount": "1000000", "annual_rate_pct": "5", "term_months": "12"},
         ["amount", "annual_rate_pct"], Offer),
        (Role.BANK, "/loans/new", {}, ["principal", "annual_rate", "guarantee_coverage", "insurance_premium"], Loan),
        (Role.BANK, "/loans/1/repayments", {"paid_on": "2026-01-01"}, ["principal", "interest"], Repayment),
        (Role.STAFF, "/loans/fund", {"amount": "1000"}, ["amount"], LedgerTxn),
        (Role.STAFF, "/loans/rates", {"kind": "lpr_1y", "effective_on": "2043-01-01", "rate": "3"}, ["rate"],
         ReferenceRate),
        (Role.STAFF, "/loans/policies", {}, ["rate_cap_ratio", "premium_subsidy_rate", "compensation_rate",
                                             "compensation_cap", "enterprise_risk_ceiling"], Policy),
        (Role.BIDDER, "/exchange/1/bid", {"amount": "800000"}, ["amount"], Bid),
        (Role.STAFF, "/exchange/new", {}, ["valuation", "starting_price", "increment", "deposit_amount"], Listing),
        (Role.VALUER, "/valuations/new", {}, ["amount"], Valuation),
    ]


PAGE_IDS = ["plans", "need", "product", "offer", "loan", "repayment", "fund", "rate", "policy", "bid", "listing",
            "valuation"]


@pytest.mark.parametrize("index", range(len(PAGE_IDS)), ids=PAGE_IDS)
def test_pages_refuse_hostile_money_and_rates_with_a_message_and_store_nothing(app, client, session, login_as,
                                                                               index):
    role, url, base, names, model = _pages()[index]
    if role is not None:
        login_as(role)
    client.get(url)  # the page as a user meets it first (reads set nothing up: the fund opens at set-up)
    before = _count(session, model) if model is not None else 0
    for name in names:
        for value in ["Infinity", "sNaN", "1e309", "1E+30", "99999999999999999999.99", "1e-40", "-1"]:
            response = client.post(url, data={**base, name: value})
            assert response.status_code < 500, (url, name, value)
            text = _refusal_text(client, response)
            assert ZH_MESSAGES.search(text), (url, name, value, text[:3000])
    if model is not None:
        assert _count(session, model) == before


def test_a_bid_beyond_the_stated_multiple_of_the_valuation_is_refused_and_not_kept(app, session, factory):
    from market.errors import InvalidInput
    from market.exchange import bidding, deposits
    from market.exchange.models import Bid
    from tests.factories import build_lot

    listing, _people = build_lot(session, factory)
    bidder = factory.user(Role.BIDDER)
    deposits.pay_deposit(session, bidder, listing, NOW)
    with app.app_context(), pytest.raises(InvalidInput):
        bidding.place_bid(session, bidder, listing.id, listing.valuation * 10 + Decimal("0.01"), NOW)
    assert _count(session, Bid) == 0
    with app.app_context():
        bid = bidding.place_bid(session, bidder, listing.id, listing.starting_price, NOW)
    assert bid.accepted


# ------------------------------------------------------------------------------------------------ §7 bad input


DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
HUGE_INT = '{"loan_amount": ' + "9" * 5000 + ', "email": "a@b.cn", "password": ' + "9" * 4400 + "}"


@pytest.mark.parametrize("path", ["/api/v1/plans/evaluate", "/api/v1/tokens"])
@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT, HUGE_INT, '{"loan_amount": Infinity}', "{", "\xff"],
                         ids=["deep-array", "deep-object", "huge-int", "infinity-literal", "truncated", "not-utf8"])
def test_hostile_json_is_a_4xx_in_chinese(client, path, body):
    r = client.post(path, data=body.encode("latin-1"), content_type="application/json")
    assert 400 <= r.status_code < 500, r.status_code
    assert re.search("[\u4e00-\u9fff]", r.get_json()["error"]["message"])


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
def test_a_body_that_is_not_json_is_415_and_changes_nothing(client, session, factory, content_type):
    staff = factory.user(Role.STAFF)
    headers = {"Authorization": f"Bearer {issue_token(session, staff, 'sweep', 'read write', NOW)[1]}"}
    before = _audits(session)
    for url in ["/api/v1/plans/evaluate", "/api/v1/tokens", "/api/v1/disposal/listings/1/cancel",
                "/api/v1/fund/contributions"]:
        data = {"reason": "x"} if content_type == "multipart/form-data" else "reason=x&amount=1"
        r = client.post(url, data=data, content_type=content_type, headers=headers)
        assert r.status_code == 415, (url, r.status_code)
        assert r.get_json()["error"]["code"] == "unsupported_media_type"
    assert _audits(session) == before


@pytest.mark.parametrize("url", ["/exchange/9223372036854775808", "/bulletins/9223372036854775808",
                                 "/exchange/2147483648", "/needs/99999999999999999999999999",
                                 "/api/v1/auctions/9223372036854775808", "/exchange/" + "9" * 5000])
def test_route_ids_beyond_the_column_are_404(client, login_as, url):
    login_as(Role.BANK)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("page", ["1000000000", "99999999999999999999999", "-3", "abc", "0", "9" * 5000])
def test_out_of_range_pages_are_clamped(client, login_as, page):
    login_as(Role.STAFF)
    for url in ["/needs/", "/staff/audit"]:
        r = client.get(f"{url}?page={page}")
        assert r.status_code == 200, (url, page, r.status_code)


def test_an_api_valuation_of_a_tenth_of_a_cent_is_422_not_a_check_constraint(client, session, factory):
    valuer = factory.user(Role.VALUER)
    headers = {"Authorization": f"Bearer {issue_token(session, valuer, 'sweep', 'read write', NOW)[1]}"}
    r = client.post("/api/v1/valuations", json={"asset_id": 1, "value_type": "market_value", "amount": "0.001",
                                                 "valuation_date": "2026-01-01", "method": "income",
                                                 "signer_name": "李", "signer_qualification": "C-1"}, headers=headers)
    assert r.status_code == 422 and "amount" in r.get_json()["error"]["details"]["json"]
