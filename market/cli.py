"""The `market` command (same commands as `flask --app market ...`)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from market.db import db, utcnow


def _create_app(*_args, **_kwargs):
    from market import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """IP Pledge Market (知识产权质押融资服务平台)."""


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema and load the reference tables."""
    from market.bootstrap import init_db

    counts = init_db()
    url = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"Database ready at {url}; reference rows added: {counts}")


@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


ROLES = ["enterprise", "bank", "bidder", "staff", "valuer", "guarantor", "insurer"]


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "org_name", default=None, help="Organisation name; created (verified) when it does not exist.")
@click.option("--name", default=None)
@with_appcontext
def users_create(email: str, password: str, role: str, org_name: str | None, name: str | None) -> None:
    """Create a user (and a verified organisation when it does not exist)."""
    from market.accounts.models import Role
    from market.accounts.service import create_user
    from market.errors import DomainError

    try:
        user = create_user(db.session, email=email, password=password, role=Role(role), org_name=org_name,
                           name=name, now=utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message % exc.params if exc.params else exc.message) from exc
    org = user.organisation.name if user.organisation else "-"
    click.echo(f"Created {user.email} (role {user.role.value}, organisation {org})")


def _serve(host: str, port: int, workers: int, threads: int) -> None:
    from market.serve import ServeError, serve

    try:
        serve(current_app._get_current_object(), host, port, workers=workers, threads=threads, echo=click.echo)
    except ServeError as exc:
        raise click.ClickException(str(exc)) from exc


SERVE_OPTIONS = [
    click.option("--host", default="127.0.0.1", show_default=True),
    click.option("--port", default=5000, show_default=True, type=int),
    click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
                 help="Server processes: 1 = waitress; more = gunicorn (Linux), needs a shared rate-limit store."),
    click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256), help="Threads per process."),
]


def serve_options(fn):
    for option in reversed(SERVE_OPTIONS):
        fn = option(fn)
    return fn


@click.command("serve")
@serve_options
@with_appcontext
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the market with a production WSGI server; the clocks (auctions, loans, needs) run inside it."""
    _serve(host, port, workers, threads)


@click.command("tick")
@click.option("--only", default=None, help="Run one clock (auctions, loans, needs).")
@with_appcontext
def tick_command(only: str | None) -> None:
    """Run every clock once now (`market serve` runs them on its own; this is for scripts and checks)."""
    from market.clock import echo_run

    echo_run(only)


@click.command("demo")
@serve_options
@click.option("--no-serve", is_flag=True, help="Prepare the data, print the logins, do not start the server.")
@with_appcontext
def demo_command(host: str, port: int, workers: int, threads: int, no_serve: bool) -> None:
    """Create/upgrade the database, load demo data from the real data sets, build the index, serve (`market serve`)."""
    from market.demo import prepare_demo

    logins = prepare_demo(echo=click.echo)
    click.echo("\nDemo logins (password for all: {}):".format(logins["password"]))
    for role, email in logins["accounts"]:
        click.echo(f"  {role:<10} {email}")
    if no_serve:
        return
    click.echo("")
    _serve(host, port, workers, threads)


def register(app) -> None:
    for command in (init_db_command, users_group, demo_command, serve_command, tick_command):
        app.cli.add_command(command)
    from market.cli_areas import register_area_commands

    register_area_commands(app)
