"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL; the CLI sets up a database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from market.db import Base, db
from market.reference.models import District, Industry, IpcTitle, Town


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "run `python -m market.devtools regen-migration`"


def test_reference_data_is_loaded_from_the_real_sets(session):
    assert session.scalar(select(func.count()).select_from(District)) == 38
    assert session.scalar(select(func.count()).select_from(Town)) == 1031
    assert session.scalar(select(func.count()).select_from(Industry).where(Industry.level == 4)) == 1380
    assert session.get(IpcTitle, "H").title_zh == "电学"
    assert session.get(IpcTitle, "H01M").title_en.startswith("PROCESSES OR MEANS")


def test_cli_init_db_and_users_create(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "--email", "Ops@Example.cq", "--password", "Chongqing2026x",
                                 "--role", "bank", "--org", "重庆测试银行"])
    assert result.exit_code == 0, result.output
    assert "ops@example.cq" in result.output and "重庆测试银行" in result.output
    again = runner.invoke(args=["users", "create", "--email", "ops@example.cq", "--password", "Chongqing2026x",
                                "--role", "bank", "--org", "重庆测试银行"])
    assert again.exit_code != 0 and "already registered" in again.output
    weak = runner.invoke(args=["users", "create", "--email", "x@example.cq", "--password", "weak", "--role", "staff",
                               "--org", "交易所"])
    assert weak.exit_code != 0 and "at least 10 characters" in weak.output
