"""`market import patents FILE`, `market search sync` and `market search reindex` (every index fed by the outbox:
patents, needs, …; see `market.outbox`)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from market.accounts.models import Organisation
from market.db import db, utcnow
from market.errors import DomainError
from market.ip.importer import import_file
from market.outbox.backend import get_backend
from market.outbox.indexes import DrainResult, all_indexes
from market.outbox.sync import drain, reindex, sync_message
from search import SearchError


def echo_report(report, max_lines: int = 50) -> None:
    click.echo(f"{report.format}: {report.total} rows, {report.created} created, {report.updated} updated, "
               f"{len(report.rejected)} rejected")
    for line, reason in report.rejected[:max_lines]:
        click.echo(f"  line {line}: {reason}", err=True)
    if len(report.rejected) > max_lines:
        click.echo(f"  … {len(report.rejected) - max_lines} more rejected rows", err=True)


def sync_now() -> DrainResult:
    """Drain the outbox of every index, one line each, then the total (`Search index updated: …` or
    `Search index not updated (…); … changes wait in the outbox.`)."""
    total, errors = DrainResult(), []
    for index in all_indexes():
        result = drain(db.session, get_backend(), index)
        db.session.commit()
        click.echo(sync_message(f"  {index.label}", result))
        total.applied += result.applied
        total.remaining += result.remaining
        if result.error:
            errors.append(f"{index.name}: {result.error}")
    total.error = "; ".join(errors) or None
    click.echo(sync_message("Search index", total))
    return total


@click.command("patents")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", "owner_name", default=None, help="Name of the enterprise that owns every imported patent.")
@click.option("--no-sync", is_flag=True, help="Leave the index changes in the outbox (run `market search sync`).")
@with_appcontext
def import_patents_command(file: str, owner_name: str | None, no_sync: bool) -> None:
    """Import patents from a CSV (the two CNIPA formats in market/data) or JSON Lines file."""
    from tqdm import tqdm

    owner = None
    if owner_name:
        owner = db.session.scalar(select(Organisation).where(Organisation.name == owner_name.strip()))
        if owner is None:
            raise click.ClickException(f"No organisation named {owner_name!r}.")
    with tqdm(unit="row", desc="patents", dynamic_ncols=True) as bar:
        try:
            report = import_file(db.session, None, file, utcnow(), owner=owner, progress=bar.update,
                                 checkpoint=db.session.commit)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message % exc.params if exc.params else exc.message) from exc
    db.session.commit()
    echo_report(report)
    if not no_sync:
        sync_now()


@click.command("sync")
@with_appcontext
def sync_command() -> None:
    """Apply the pending changes of every index (patents, needs: the outbox) to the search engine."""
    result = sync_now()
    if result.error:
        raise SystemExit(1)


@click.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild every search index (patents, needs, …) from the database."""
    for index in all_indexes():
        try:
            written = reindex(db.session, get_backend(), index)
        except SearchError as exc:
            db.session.rollback()
            raise click.ClickException(f"Search engine unavailable: {exc}") from exc
        db.session.commit()
        click.echo(f"{index.label} rebuilt: {written} documents.")
