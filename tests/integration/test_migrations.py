"""The Alembic migrations build exactly the schema the code declares, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from integration.db.migrate import alembic_config
from integration.db.tables import metadata


def test_one_head():  # type: ignore[no-untyped-def]
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


def test_migrated_schema_matches_the_tables(db):  # type: ignore[no-untyped-def]
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = [d for d in compare_metadata(context, metadata)
                       if not (d[0] in ("remove_table",) and d[1].name == "apscheduler_jobs")
                       and not (d[0] == "remove_index" and d[1].table.name == "apscheduler_jobs")]  # APScheduler's own
    assert differences == []
