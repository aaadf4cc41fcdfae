"""Command groups that areas fill: import, search, auctions, bulletin. Each area adds its commands here."""

from __future__ import annotations

import click

import_group = click.Group("import", help="Import data in bulk.")
search_group = click.Group("search", help="Keep the search index in step with the database.")
auctions_group = click.Group("auctions", help="Run the auction clock.")
bulletin_group = click.Group("bulletin", help="Publish the periodic bulletin of financing needs.")

GROUPS = {g.name: g for g in (import_group, search_group, auctions_group, bulletin_group)}


def register_area_commands(app) -> None:
    from market.areas import collect

    for group_name, command in collect("commands"):
        if group_name is None:
            app.cli.add_command(command)
        elif command.name not in GROUPS[group_name].commands:
            GROUPS[group_name].add_command(command)
    for group in GROUPS.values():
        if group.commands:
            app.cli.add_command(group)
