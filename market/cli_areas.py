"""Command groups that areas fill: import, search, auctions, bulletin. Each area adds its commands here."""

from __future__ import annotations

import click

import_group = click.Group("import", help="Import data in bulk.")
search_group = click.Group("search", help="Keep the search index in step with the database.")
auctions_group = click.Group("auctions", help="Run the auction clock.")
bulletin_group = click.Group("bulletin", help="Publish the periodic bulletin of financing needs.")

GROUPS = [import_group, search_group, auctions_group, bulletin_group]
# Modules that attach commands to the groups above when imported.
AREA_COMMAND_MODULES: list[str] = []


def register_area_commands(app) -> None:
    import importlib

    for name in AREA_COMMAND_MODULES:
        importlib.import_module(name)
    for group in GROUPS:
        if group.commands:
            app.cli.add_command(group)
