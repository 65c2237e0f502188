"""The database: engine set-up for SQLite (WAL, immediate write transactions) and PostgreSQL.

`Database.write()` opens a transaction that holds the write lock from its first statement on SQLite
(`BEGIN IMMEDIATE`, so two writers never deadlock on lock upgrade) and a normal transaction on
PostgreSQL, where rows are locked with `FOR UPDATE`. `Database.read()` is a plain transaction.
Nothing connects at import time.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, Select, create_engine, event
from sqlalchemy.engine import make_url

from integration.db.tables import metadata

__all__ = ["Database", "locked", "metadata", "normalise_url"]


def locked(conn: Connection, statement: Select) -> Select:
    """`statement` taking row locks on PostgreSQL (`FOR UPDATE`); SQLite's write transaction is
    already exclusive, and it has no such clause."""
    return statement.with_for_update() if conn.dialect.name == "postgresql" else statement


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3, the driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Database:
    def __init__(self, url: str, *, pool_size: int = 5, echo: bool = False):
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                self.url, echo=echo, connect_args={"timeout": 60, "check_same_thread": False}
            )
            _sqlite_recipe(self.engine)
        else:
            self.engine = create_engine(
                self.url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2,
                pool_pre_ping=True,
            )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: commits on success, rolls back on any exception."""
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(sqlite_deferred=True) as conn:
            with conn.begin():
                yield conn

    def ping(self) -> bool:
        try:
            with self.read() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - readiness reports any failure as "not ready"
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_recipe(engine: Engine) -> None:
    """SQLAlchemy's documented pysqlite recipe: we issue BEGIN ourselves so that SAVEPOINT and
    BEGIN IMMEDIATE work; WAL lets readers run beside the one writer."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        deferred = conn.get_execution_options().get("sqlite_deferred", False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
