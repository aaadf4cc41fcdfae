"""Discovery of the product's areas.

Each area is a subpackage `market/<area>/` with an `area.py` module that may define:

- `ORDER` (int, for menus and the API document; default 100)
- `blueprints`, `api_blueprints`: Flask / flask-smorest blueprints
- `nav`: [(endpoint, label, roles)], `cards`: [(role or None, endpoint, title, text)]
- `counters`: [(key, label, fn(session) -> int)] for the home page
- `panels`: [(label, fn(session))] for the staff console
- `todos`: [(roles, fn(session, user, now) -> [market.notices.service.Todo])] for the workspace to-do list
- `commands`: [(group name or None, click command)]; groups: import, search, auctions, bulletin
- `patent_sections`: [(position, fn(session, viewer, asset) -> Markup)]: cards the patent page (ip) shows below its
  own, by position (loans: the pledge history, exchange: the transfers, valuations: the reports)
- `loan_sections`: [(position, fn(session, viewer, loan) -> Markup)]: cards the loan page (loans) shows at its end,
  by position (exchange: the lots a defaulted loan's pledges were listed as)
- `patent_details`: [(name, marshmallow field, fn(session, viewer, asset) -> value)]: what `GET /api/v1/patents/{id}`
  adds under `name` (loans: `pledges`, valuations: `valuations`); the field documents and dumps the value
- `patent_values`: [(name, fn(session, today) -> {asset_id: value})]: fields every patent index document adds, loaded
  once per batch (valuations: `valuation`, the latest report in force)
- `asset_lenders`: [fn(session, asset_id) -> org ids]: the banks holding an active pledge on an asset (loans), for
  the valuers' conflict-of-interest rule
- `asset_sales`: [fn(session) -> [market.valuations.accuracy.Sale]]: the lots sold at a price (exchange), which
  valuer accuracy is measured against
- what a higher area shows on a financing need (collected by market.needs, which never imports the higher area):
  - `need_sections`: [(position, fn(session, viewer, need, today) -> Markup)]: sections the need page shows below
    its offered assets, by position (loans: the signing prompt and the loan)
  - `need_asset_columns`: [(heading, template, fn(session, viewer, need, today) -> {asset id: value})]: a column
    of the need page's table of offered assets; the template shows one cell from `value` (None when absent)
  - `need_details`: [(name, marshmallow field, fn(session, viewer, need, today) -> value)]: what
    `GET /api/v1/needs/{id}` adds under `name` (loans: `loan`); the field documents and dumps the value
  - `offer_loans`: [fn(session, offer ids) -> {offer id: loan id}]: the loan signed from an accepted offer
- `demo_step(echo)`: loads the area's demo data (called in ORDER by `market demo`)
- `init_app(app)`: anything else (filters, hooks)

Importing `area.py` must import the area's models, so the metadata (and Alembic) sees every table.
An area never edits another area's files; the core reads these lists.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parent


@cache
def all_areas() -> tuple[ModuleType, ...]:
    modules = []
    for info in pkgutil.iter_modules([str(PACKAGE)]):
        if info.ispkg and (PACKAGE / info.name / "area.py").exists():
            modules.append(importlib.import_module(f"market.{info.name}.area"))
    return tuple(sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)))


def collect(name: str) -> list:
    items: list = []
    for module in all_areas():
        items.extend(getattr(module, name, []))
    return items
