"""`market demo --no-serve` prepares a fresh database end to end, twice (the second run changes nothing)."""

from __future__ import annotations

from sqlalchemy import func, select

from market.accounts.models import Role, User
from market.db import db
from market.demo import DEMO_PASSWORD
from tests.conftest import login


def test_demo_prepares_everything_and_each_role_can_log_in(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Demo logins" in result.output and DEMO_PASSWORD in result.output
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        assert {u.role for u in users} == set(Role)
        count_before = db.session.scalar(select(func.count()).select_from(User))
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output + repr(again.exception)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == count_before
    client = app.test_client()
    for user in users:
        login(client, user, DEMO_PASSWORD)
        page = client.get("/workspace")
        assert page.status_code == 200 and "工作台" in page.get_data(as_text=True)
        client.post("/logout")
