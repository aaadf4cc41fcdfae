"""Developer tools. `python -m market.devtools regen-migration`: rewrite the initial migration from the models.

Until the first release there is one migration, 0001, regenerated whenever the models change; after a release,
new revisions are added with `autogenerate` instead.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from market.migrate import MIGRATIONS, autogenerate


def regen_initial_migration() -> Path:
    from market import create_app
    from market.db import db

    versions = MIGRATIONS / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/regen.sqlite3", "SECRET_KEY": "regen"})
        with app.app_context():
            autogenerate(db.engine, "initial schema")
            db.engine.dispose()
    (generated,) = [p for p in versions.glob("*_initial_schema.py") if not p.name.startswith("0001_")]
    text = generated.read_text()
    rev = generated.name.split("_", 1)[0]
    text = text.replace(f"revision = '{rev}'", "revision = '0001'").replace(f"Revision ID: {rev}", "Revision ID: 0001")
    target = versions / "0001_initial_schema.py"
    target.write_text(text)
    generated.unlink()
    return target




DOMAIN_ERRORS = (
    "DomainError", "NotFound", "Forbidden", "Conflict", "InvalidInput", "InvalidTransition", "Unauthorized"
)


def extract_messages() -> dict[str, list[str]]:
    """Every translatable msgid in market/ and templates/ with where it is used (for the catalog check)."""
    from babel.messages.extract import extract_from_dir

    from market import ROOT

    method_map = [("**.py", "python"), ("**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2), "N_": None}
    # Domain errors carry their msgid as the first argument.
    keywords.update({name: (1,) for name in DOMAIN_ERRORS})
    keywords["get_or_fail"] = (4,)  # market.db.get_or_fail(session, model, id, msgid)
    found: dict[str, list[str]] = {}
    for folder in ("market", "templates"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, keywords=keywords, comment_tags=()
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, []).append(f"{folder}/{filename}:{lineno}")
    return found


def missing_translations(locale: str = "zh_CN") -> dict[str, list[str]]:
    from market.i18n import merged_catalog

    catalog = merged_catalog(locale)
    return {m: where for m, where in extract_messages().items() if not (catalog.get(m) and catalog.get(m).string)}


if __name__ == "__main__":
    if sys.argv[1:] == ["regen-migration"]:
        print(regen_initial_migration())
    elif sys.argv[1:2] == ["missing-translations"]:
        for msgid, where in sorted(missing_translations().items()):
            print(f"{msgid!r}  # {where[0]}")
    else:
        print(__doc__)
