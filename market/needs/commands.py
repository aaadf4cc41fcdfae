"""`market needs escalate`: needs no bank answered within N working days go to staff."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from market.db import db, utcnow
from market.needs.rules import DEFAULT_RESPONSE_WORKING_DAYS

needs_group = click.Group("needs", help="The financing-needs database.")


@needs_group.command("escalate")
@click.option("--days", type=int, default=None, help="Working days without a bank response (default: config).")
@with_appcontext
def escalate_command(days: int | None) -> None:
    """Escalate published needs with no bank response in N working days (weekends skipped)."""
    from market.needs.docking import escalate_needs

    days = days or current_app.config.get("NEEDS_RESPONSE_WORKING_DAYS", DEFAULT_RESPONSE_WORKING_DAYS)
    needs = escalate_needs(db.session, utcnow(), working_days=days)
    db.session.commit()
    click.echo(f"Escalated {len(needs)} need(s) with no bank response in {days} working days.")
    for need in needs:
        click.echo(f"  #{need.id} {need.title} (published {need.published_at:%Y-%m-%d %H:%M})")


@click.command("publish")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="End of the period (exclusive), default today.")
@click.option("--days", type=int, default=7, show_default=True, help="Length of the first period.")
@with_appcontext
def bulletin_publish_command(until, days: int) -> None:
    """Publish the bulletin of needs newly published since the last edition (web page, CSV, Atom)."""
    from market.errors import DomainError
    from market.needs.bulletin import publish_bulletin

    try:
        bulletin = publish_bulletin(db.session, utcnow(), until=until.date() if until else None, days=days)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message % exc.params if exc.params else exc.message) from exc
    click.echo(f"Bulletin No. {bulletin.number}: {bulletin.period_start} – {bulletin.period_end}, "
               f"{len(bulletin.need_ids)} need(s). Pages: /bulletins/{bulletin.number} (.csv, .atom)")
