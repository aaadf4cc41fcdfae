"""A need's amount has the one bound of every amount (`market.bounded.AMOUNT`, at most ¥100 billion): the form, the
API schema and the service agree. The service had its own ¥10 billion limit, so a need of ¥50 billion passed the
API's field and was then refused by the service."""

from __future__ import annotations

from decimal import Decimal

import pytest

from market.bounded import AMOUNT
from market.errors import InvalidInput
from market.needs import service
from tests.conftest import NOW
from tests.factories import NeedsKit, bearer, make_asset


def test_a_need_within_the_shared_bound_is_taken_by_the_api(session, factory, client):
    kit = NeedsKit(session, factory)
    user = kit.enterprise()
    asset = make_asset(session, user.organisation)
    body = {"title": "集成电路产线建设", "amount": "50000000000", "term_months": 36, "purpose": "购置光刻设备",
            "max_rate": "0.06", "asset_ids": [asset.id]}
    answer = client.post("/api/v1/needs", json=body, headers=bearer(session, user))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["amount"] == "50000000000.00"


@pytest.mark.parametrize("amount", [AMOUNT.high + Decimal("0.01"), Decimal(0), Decimal("1.001")])
def test_the_service_refuses_what_the_bound_refuses_with_a_message(session, factory, amount):
    kit = NeedsKit(session, factory)
    user = kit.enterprise()
    with pytest.raises(InvalidInput) as refused:
        service.create_need(session, user, kit.data([make_asset(session, user.organisation)], amount=amount), NOW)
    assert refused.value.params == {"max": "100000000000"}
    assert service.create_need(session, user, kit.data([make_asset(session, user.organisation)],
                                                        amount=AMOUNT.high), NOW).amount == AMOUNT.high


@pytest.mark.parametrize("locale, words", [("zh_CN", "金额必须大于零、不超过 100000000000 元"),
                                           ("en", "at most 100000000000 yuan")])
def test_the_refusal_reads_in_both_languages(app, locale, words):
    from flask_babel import force_locale

    error = InvalidInput("The amount must be more than zero and at most %(max)s yuan, with at most two decimals.",
                         max="100000000000")
    with app.test_request_context(), force_locale(locale):
        assert words in error.localized()
