"""`market users create` (`market.accounts.service.create_user`) run twice at the same moment, on SQLite and
PostgreSQL: the unique indexes decide (one account per address, one organisation per name) and the loser gets the
clear refusal the check before them gives, never an IntegrityError."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from market.accounts import service
from market.accounts.models import Organisation, Role, User
from tests.conftest import PASSWORD
from tests.races import TARGETS, count, private_app, widen_window


def _create_at_once(app, monkeypatch, calls: list[dict]) -> list[str]:
    """Each call to `create_user` in its own thread and app context, all released together and held after the
    e-mail check (`widen_window` on the password check that follows it) so every one passes the checks before any
    writes. What each one ended with: "created", a refusal's message, or the exception's class name."""
    from market.db import db, utcnow

    widen_window(monkeypatch, service, "password_problem", len(calls))
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(index: int, kwargs: dict) -> None:
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                service.create_user(db.session, password=PASSWORD, now=utcnow(), **kwargs)
                db.session.commit()
                outcomes[index] = "created"
            except service.DomainError as exc:
                db.session.rollback()
                outcomes[index] = exc.message
            except Exception as exc:  # noqa: BLE001 - reported, so the assertion shows what went wrong
                db.session.rollback()
                outcomes[index] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=run, args=(i, kwargs)) for i, kwargs in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.mark.parametrize("target", TARGETS)
def test_one_address_created_twice_at_once_makes_one_account(make_app, monkeypatch, target):
    app = private_app(make_app, target)
    call = {"email": "ops@race.example.cq", "role": Role.STAFF, "org_name": "重庆联合产权交易所"}
    outcomes = _create_at_once(app, monkeypatch, [call, dict(call)])
    assert sorted(outcomes) == ["This e-mail address is already registered.", "created"], outcomes
    assert count(app, User, User.email == "ops@race.example.cq") == 1


@pytest.mark.parametrize("target", TARGETS)
def test_one_new_organisation_named_twice_at_once_is_made_once(make_app, monkeypatch, target):
    """Two people of one new bank created at the same moment: both accounts, one organisation (the second uses the
    one the first made)."""
    app = private_app(make_app, target)
    calls = [{"email": f"loan{i}@race-bank.example.cq", "role": Role.BANK, "org_name": "重庆竞速银行"} for i in (1, 2)]
    outcomes = _create_at_once(app, monkeypatch, calls)
    assert outcomes == ["created", "created"], outcomes
    assert count(app, Organisation, Organisation.name == "重庆竞速银行") == 1
    from market.db import db

    with app.app_context():
        orgs = set(db.session.scalars(select(User.organisation_id).where(User.email.like("%@race-bank.example.cq"))))
    assert len(orgs) == 1


def test_the_command_refuses_a_registered_address_with_the_message(make_app):
    app = make_app()
    args = ["users", "create", "--email", "Twice@Example.cq", "--password", "Chongqing2026x", "--role", "bidder"]
    runner = app.test_cli_runner()
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code == 1
    assert "This e-mail address is already registered." in again.output
