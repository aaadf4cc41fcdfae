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


if __name__ == "__main__":
    if sys.argv[1:] == ["regen-migration"]:
        print(regen_initial_migration())
    else:
        print(__doc__)
