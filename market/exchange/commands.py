"""`market auctions tick`: open announced lots whose bidding starts, close ended lots, forfeit unpaid winners."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from market.db import db, utcnow


@click.command("tick")
@with_appcontext
def tick_command() -> None:
    """Run the auction clock once (safe to run twice, also at the same time)."""
    from market.exchange.service import tick

    for attempt in range(5):
        try:
            counts = tick(db.session, utcnow())
            db.session.commit()
            break
        except OperationalError:  # SQLite: the write lock stayed busy beyond busy_timeout; try again
            db.session.rollback()
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    click.echo(f"Auctions: {counts['opened']} opened, {counts['closed']} closed, {counts['unpaid']} unpaid.")
