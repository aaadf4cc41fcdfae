"""The declarative base, the Flask-SQLAlchemy handle and column helpers shared by every area."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, Numeric, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Money is always an exact decimal: 18 digits with 2 decimals covers any loan in 元.
Money = Numeric(18, 2, asdecimal=True)
# Rates and shares as fractions (0.0435), exact.
Rate = Numeric(9, 6, asdecimal=True)
# Ids are INTEGER columns (PostgreSQL int4): a larger id names no row.
MAX_ID = 2**31 - 1


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """The current time in UTC, naive (stored as such on every database)."""
    return datetime.now(UTC).replace(tzinfo=None)


def pk():
    return mapped_column(primary_key=True)


def lock_rows(session, model, ids):
    """Read rows of `model` (by primary key `id`) under their row locks, in id order, fresh from the database.

    The guard of a check-then-write: call it before the check, so that writers of the same row queue and each
    judges what the one before it committed. PostgreSQL: SELECT ... FOR UPDATE OF the table (READ COMMITTED, so the
    statements after it see the committed state). SQLite has no row locks and SQLAlchemy drops the clause: there
    every writing transaction already holds the database write lock from BEGIN IMMEDIATE (see
    `_sqlite_begin_statement`), which serialises it whole. Returns the rows found (missing ids are left out)."""
    ids = sorted({int(i) for i in ids})
    if not ids:
        return []
    return list(session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id)
                                .with_for_update(of=model).execution_options(populate_existing=True)))


def get_or_fail(session, model, row_id, message: str):
    """The row of `model` with this primary key; NotFound(message), a translatable msgid, when there is none."""
    from market.errors import NotFound

    row = session.get(model, row_id)
    if row is None:
        raise NotFound(message)
    return row


def lock_row(session, model, row_id):
    """One row under its row lock (see `lock_rows`), or None when it does not exist."""
    found = lock_rows(session, model, [row_id]) if row_id is not None else []
    return found[0] if found else None


def insert_unique(session, obj, conflict: Exception):
    """Add and flush `obj` in a savepoint: when a unique constraint refuses it (a concurrent writer got there first,
    after our check), raise `conflict` (a market.errors domain error, e.g. a 409) instead of a 500, leaving the
    caller's transaction usable. The constraint is the guarantee; the check before it is the friendly message."""
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():
            session.add(obj)
            session.flush()
    except IntegrityError as exc:
        raise conflict from exc
    return obj


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    # SQLite enforces foreign keys only when asked, per connection. The driver's own transaction handling is
    # switched off so that SQLAlchemy's BEGIN/SAVEPOINT are real (pysqlite otherwise defers BEGIN and breaks
    # savepoints); WAL lets readers run beside the one writer; busy_timeout makes writers queue instead of failing.
    if _is_sqlite(dbapi_connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if _is_sqlite(conn.connection.dbapi_connection):
        conn.exec_driver_sql(_sqlite_begin_statement())


def _sqlite_begin_statement() -> str:
    """A web read begins deferred (readers never wait); anything that may write takes the write lock up front.

    In WAL mode a deferred transaction that read first and then needs to write fails at once, without waiting
    for busy_timeout, when another connection wrote in between. Write requests, commands and ticks therefore
    BEGIN IMMEDIATE: they queue for the lock (up to busy_timeout) instead of failing.
    """
    from flask import has_request_context, request

    if has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"):
        return "BEGIN"
    return "BEGIN IMMEDIATE"


def enum_type(enum_cls, length: int = 32):
    """A portable enum column: stored as its value string with a CHECK constraint, same on SQLite and PostgreSQL."""
    from sqlalchemy import Enum as SAEnum

    return SAEnum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        create_constraint=True,
        name=enum_cls.__name__.lower(),
    )
