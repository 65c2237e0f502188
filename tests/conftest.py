"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when
LOYALTY_TEST_DATABASE=postgresql), migrated with Alembic, and a runtime with the fake platform."""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from integration.config import build_settings
from integration.db import Database
from integration.db.migrate import upgrade
from integration.db.tables import metadata

PG_ADMIN_URL = os.environ.get("LOYALTY_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKEND = os.environ.get("LOYALTY_TEST_DATABASE", "sqlite")


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    return f"loyalty-bridge test database: {BACKEND}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    """One migrated database per test session; dropped at the end."""
    if BACKEND == "postgresql":
        name = f"loyalty_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        db = Database(url)
        upgrade(db)
        db.dispose()
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        template = tmp_path_factory.mktemp("template") / "loyalty.db"
        db = Database(f"sqlite:///{template}")
        upgrade(db)
        db.dispose()  # the last connection to close checkpoints the WAL into the file
        yield f"sqlite:///{template}"


@pytest.fixture
def db_url(database_url: str, tmp_path: Path) -> str:
    """A clean database for this test: a copy of the migrated SQLite file, or the PostgreSQL
    session database with every table emptied."""
    if BACKEND == "postgresql":
        engine = create_engine(database_url)
        with engine.begin() as conn:  # DELETE is ten times faster than TRUNCATE on tables this small
            sequences = conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
            conn.exec_driver_sql("; ".join(
                [f'DELETE FROM "{table.name}"' for table in reversed(metadata.sorted_tables)]
                + [f'ALTER SEQUENCE "{name}" RESTART' for (name,) in sequences]))
        engine.dispose()
        return database_url
    path = tmp_path / "loyalty.db"
    shutil.copy(database_url.removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(db_url: str):  # type: ignore[no-untyped-def]
    database = Database(db_url, pool_size=10)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url: str):  # type: ignore[no-untyped-def]
    return build_settings({
        "server": {"secret_key": "test-secret-key", "base_url": "http://127.0.0.1:8000"},
        "database": {"url": db_url},
        "shopify": {"api_key": "test-api-key", "api_secret": "hush"},
    }, environ={})


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc))


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Headless Debian Chromium driven by Playwright (installed by .ci/run; no browser download)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Chromium is not installed: run `apt-get install chromium` (as .ci/run does)")
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
