"""`market auctions tick`: open announced lots whose bidding starts, close ended lots, forfeit unpaid winners (the
auctions clock, as `market tick --only auctions`; `market serve` runs it every few seconds)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from market.clock import echo_run


@click.command("tick")
@with_appcontext
def tick_command() -> None:
    """Run the auction clock once (safe to run twice, also at the same time)."""
    echo_run("auctions")
