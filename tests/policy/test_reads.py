"""Reading the policy never writes: the seed is written at set-up (`init_db`), and the pages and API that show the
policy, the rates and a plan commit nothing and leave every table as it was."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, inspect, select, table
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.db import db
from market.policy.models import Policy, ReferenceRate
from market.policy.seed import SEED_POLICIES, SEED_RATES, seed_policy
from market.policy.service import kinds_in_force, policy_in_force
from tests.conftest import NOW, PASSWORD, Factory, login
from tests.races import TARGETS, private_app

READS = [
    ("get", "/plans", None),
    ("post", "/plans", {"loan_amount": "1000000", "annual_rate": "5", "term_months": "12"}),
    ("get", "/loans/policies", None),
    ("get", "/loans/rates", None),
    ("get", "/api/v1/policies", None),
    ("get", "/api/v1/rates", None),
    ("post", "/api/v1/plans/evaluate", {"loan_amount": "1000000", "annual_rate": "0.05", "benchmark_rate": "0.0435",
                                        "term_months": 12}),
]


def table_counts(app) -> dict[str, int]:
    with app.app_context():
        names = inspect(db.engine).get_table_names()
        return {name: db.session.scalar(select(func.count()).select_from(table(name))) for name in names}


@pytest.mark.parametrize("target", TARGETS)
def test_reads_of_the_policy_commit_nothing(make_app, target):
    app = private_app(make_app, target)
    with app.app_context():
        staff = Factory(db.session).user(Role.STAFF)
        email = staff.email
    with app.test_client() as client:
        login(client, staff)
        token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).get_json()["token"]
        # the token's first use writes its advisory last_used_at (market.api.auth): done before counting
        assert client.get("/api/v1/rates", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        before = table_counts(app)
        commits = []
        current = []
        listener = lambda session: commits.append(current[-1])  # noqa: E731
        event.listen(Session, "after_commit", listener)
        try:
            for method, url, body in READS:
                current.append(url)
                headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
                kwargs = {"json": body} if url.startswith("/api/") else {"data": body}
                response = getattr(client, method)(url, headers=headers, **(kwargs if body else {}))
                assert response.status_code == 200, (url, response.status_code)
        finally:
            event.remove(Session, "after_commit", listener)
    assert commits == []
    assert table_counts(app) == before


def test_the_seed_is_written_at_set_up_and_once(session):
    """`init_db` seeded the 2015 version and the rates; running the seed again adds nothing."""
    assert policy_in_force(session, date(2016, 1, 1)).code == SEED_POLICIES[0]["code"]
    assert session.scalar(select(func.count()).select_from(ReferenceRate)) >= len(SEED_RATES)
    assert seed_policy(session, NOW) == {"policy": 0, "reference_rate": 0}


def test_no_version_in_force_is_a_404_not_a_seed(session):
    """Before the first version nothing is in force: a clear refusal, and no row is written on the way."""
    from market.errors import NotFound

    count = session.scalar(select(func.count()).select_from(Policy))
    with pytest.raises(NotFound):
        policy_in_force(session, date(2014, 12, 31))
    assert session.scalar(select(func.count()).select_from(Policy)) == count
    # the pledgeable kinds on such a day are the 2015 measures' four kinds
    assert {k.value for k in kinds_in_force(session, date(2014, 12, 31))} == set(SEED_POLICIES[0]["eligible_kinds"])
