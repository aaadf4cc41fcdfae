"""Reading the fund never writes: set-up (`init_db`) opens the fund with its first contribution, and the fund's
pages and API (`GET /loans/fund`, `GET /loans/fund/grants`, `GET /api/v1/fund`) commit nothing and leave every table
as it was; before the fund is open they show a zero balance, still without writing."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.db import db
from market.loans import fund
from market.loans.models import Fund, LedgerLine, LedgerTxn
from tests.conftest import NOW, PASSWORD, Factory, login
from tests.policy.test_reads import table_counts
from tests.races import TARGETS, private_app

PAGES = ["/loans/fund", "/loans/fund/grants"]
API = ["/api/v1/fund"]


def _token(client, email: str) -> str:
    token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).get_json()["token"]
    # the token's first use writes its advisory last_used_at (market.api.auth): done before counting
    assert client.get("/api/v1/rates", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    return token


def _read_everything(app) -> tuple[list[str], dict[str, bytes | dict], dict[str, int], dict[str, int]]:
    """Every fund read as staff (pages and API) and as a bank (API), once the readers are logged in: the commits
    each read made, the answers, and the rows of every table before and after the reads."""
    with app.app_context():
        factory = Factory(db.session)
        staff, bank = factory.user(Role.STAFF), factory.user(Role.BANK)
        emails = staff.email, bank.email
    commits: list[str] = []
    answers: dict[str, bytes | dict] = {}
    as_staff, as_bank = app.test_client(), app.test_client()
    login(as_staff, staff)
    tokens = {"staff": _token(as_staff, emails[0]), "bank": _token(as_bank, emails[1])}
    before = table_counts(app)
    current: list[str] = []
    listener = lambda session: commits.append(current[-1])  # noqa: E731
    event.listen(Session, "after_commit", listener)
    try:
        for url in PAGES:
            current.append(url)
            response = as_staff.get(url)
            assert response.status_code == 200, url
            answers[url] = response.data
        for who, client in (("staff", as_staff), ("bank", as_bank)):
            for url in API:
                current.append(f"{url} as {who}")
                response = client.get(url, headers={"Authorization": f"Bearer {tokens[who]}"})
                assert response.status_code == 200, (url, who)
                answers[f"{url} as {who}"] = response.get_json()
    finally:
        event.remove(Session, "after_commit", listener)
    return commits, answers, before, table_counts(app)


@pytest.mark.parametrize("target", TARGETS)
def test_reads_of_the_fund_commit_nothing(make_app, target):
    app = private_app(make_app, target)
    with app.app_context():
        assert db.session.get(Fund, fund.FUND_ID).balance == fund.OPENING_CONTRIBUTION  # opened at set-up
    commits, answers, before, after = _read_everything(app)
    assert commits == []
    assert after == before
    assert answers["/api/v1/fund as staff"]["balance"] == "25000000.00"
    assert answers["/api/v1/fund as bank"]["balance"] == "25000000.00"


@pytest.mark.parametrize("target", TARGETS)
def test_before_the_fund_is_open_reads_show_zero_and_write_nothing(make_app, target):
    """A database set up before the fund was opened at set-up (no fund row, no ledger): the pages and the API
    answer with a zero balance and do not open the fund on the way."""
    app = private_app(make_app, target)
    with app.app_context():
        db.session.execute(delete(LedgerLine))
        db.session.execute(delete(LedgerTxn))
        db.session.execute(delete(Fund))
        db.session.commit()
    commits, answers, before, after = _read_everything(app)
    assert commits == []
    assert after == before
    assert answers["/api/v1/fund as staff"]["balance"] == "0.00"
    assert answers["/api/v1/fund as bank"]["balance"] == "0.00"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Fund)) == 0
        assert db.session.scalar(select(func.count()).select_from(LedgerTxn)) == 0
        assert fund.fund_balance(db.session) == 0


def test_the_fund_is_opened_at_set_up_and_once(session):
    """`init_db` opened the fund with the first contribution; opening it again adds nothing."""
    opening = session.scalars(select(LedgerTxn).where(LedgerTxn.ref == "contribution:opening")).all()
    assert [t.amount for t in opening] == [fund.OPENING_CONTRIBUTION]
    assert fund.open_fund(session, NOW) == {"fund": 0}
    assert session.scalar(select(func.count()).select_from(LedgerTxn).where(LedgerTxn.kind == "contribution")) == 1
