"""Alembic environment: the URL comes from `loyalty db upgrade` (config attribute), never from a file."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from integration.db import normalise_url
from integration.db.tables import metadata

config = context.config
url = normalise_url(config.get_main_option("sqlalchemy.url"))


def run() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _migrate(connectable)
        return
    engine = create_engine(url)
    with engine.connect() as connection:
        _migrate(connection)
    engine.dispose()


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run()
