"""`market needs escalate` (needs no bank answered within N working days go to staff), `market needs expire`
(published needs older than N days expire), `market needs tick` (both, then the index), `market needs
sync-index` / `market needs reindex` (the needs search index only; also `market search reindex-needs`; `market search
sync` and `market search reindex` cover every index, needs included)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from market.clock import echo_run
from market.db import db, utcnow
from market.errors import DomainError
from market.needs.bulletin import publish_bulletin
from market.needs.docking import escalate_needs
from market.needs.indexing import OUTBOX_INDEX, drain, get_backend, reindex
from market.needs.rules import DEFAULT_RESPONSE_WORKING_DAYS
from market.needs.service import DEFAULT_EXPIRY_DAYS, expire_needs
from market.outbox.sync import sync_message

needs_group = click.Group("needs", help="The financing-needs database.")


@needs_group.command("escalate")
@click.option("--days", type=int, default=None, help="Working days without a bank response (default: config).")
@with_appcontext
def escalate_command(days: int | None) -> None:
    """Escalate published needs with no bank response in N working days (weekends skipped)."""

    days = days or current_app.config.get("NEEDS_RESPONSE_WORKING_DAYS", DEFAULT_RESPONSE_WORKING_DAYS)
    needs = escalate_needs(db.session, utcnow(), working_days=days)
    db.session.commit()
    click.echo(f"Escalated {len(needs)} need(s) with no bank response in {days} working days.")
    for need in needs:
        click.echo(f"  #{need.id} {need.title} (published {need.published_at:%Y-%m-%d %H:%M})")


def _expiry_days(days: int | None) -> int:

    return days or current_app.config.get("NEEDS_EXPIRY_DAYS", DEFAULT_EXPIRY_DAYS)


def _sync_index():
    """Drain the needs rows of the outbox: (result, message)."""

    result = drain(db.session, get_backend())
    db.session.commit()
    return result, sync_message(OUTBOX_INDEX.label, result)


@needs_group.command("expire")
@click.option("--days", type=int, default=None, help="Days after publication (default: config NEEDS_EXPIRY_DAYS).")
@with_appcontext
def expire_command(days: int | None) -> None:
    """Expire published needs no bank took up within N days of publication."""

    days = _expiry_days(days)
    needs = expire_needs(db.session, utcnow(), days=days)
    db.session.commit()
    click.echo(f"Expired {len(needs)} need(s) published more than {days} days ago.")
    for need in needs:
        click.echo(f"  #{need.id} {need.title}")
    click.echo(_sync_index()[1])


def clock(session, now) -> dict[str, int]:
    """The needs clock (market.clock): escalate unanswered needs, expire old ones, bring the needs index up to date.
    Only flushes; the runner commits."""

    working_days = current_app.config.get("NEEDS_RESPONSE_WORKING_DAYS", DEFAULT_RESPONSE_WORKING_DAYS)
    escalated = escalate_needs(session, now, working_days=working_days)
    expired = expire_needs(session, now, days=_expiry_days(None))
    result = drain(session, get_backend())
    return {"escalated": len(escalated), "expired": len(expired), "indexed": result.applied,
            "index_waiting": result.remaining}


@needs_group.command("tick")
@with_appcontext
def tick_command() -> None:
    """The daily run (the needs clock, as `market tick --only needs`): escalate, expire, update the index."""

    echo_run("needs")


@needs_group.command("sync-index")
@with_appcontext
def sync_index_command() -> None:
    """Apply the pending needs index changes (the outbox) to the search engine (`market search sync` does every
    index)."""
    result, message = _sync_index()
    click.echo(message)
    if result.error:
        raise SystemExit(1)


@click.command("reindex-needs")
@with_appcontext
def reindex_needs_command() -> None:
    """Rebuild the needs index from the database."""
    from search import SearchError

    try:
        written = reindex(db.session, get_backend())
    except SearchError as exc:
        db.session.rollback()
        raise click.ClickException(f"Search engine unavailable: {exc}") from exc
    db.session.commit()
    click.echo(f"Needs index rebuilt: {written} published needs.")


needs_group.add_command(reindex_needs_command, "reindex")


@click.command("publish")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="End of the period (exclusive), default today.")
@click.option("--days", type=int, default=7, show_default=True, help="Length of the first period.")
@with_appcontext
def bulletin_publish_command(until, days: int) -> None:
    """Publish the bulletin of needs newly published since the last edition (web page, CSV, Atom)."""

    try:
        bulletin = publish_bulletin(db.session, utcnow(), until=until.date() if until else None, days=days)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message % exc.params if exc.params else exc.message) from exc
    click.echo(f"Bulletin No. {bulletin.number}: {bulletin.period_start} – {bulletin.period_end}, "
               f"{len(bulletin.need_ids)} need(s). Pages: /bulletins/{bulletin.number} (.csv, .atom)")
