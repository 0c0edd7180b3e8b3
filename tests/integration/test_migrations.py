"""Migrations: an empty database upgrades to head, matches the tables, and is checked."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool
from sqlalchemy.engine import make_url

from adapters.clock import SystemClock
from adapters.postgres.migrate import (
    MIGRATIONS,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from adapters.postgres.schema_version import HEAD_REVISION, ensure_schema_current
from adapters.postgres.setup import PostgresAdapters
from adapters.postgres.setup import create_engine as create_async_engine
from adapters.postgres.tables import metadata
from adapters.postgres.urls import libpq_conninfo
from application.errors import SchemaOutOfDate
from tests.support.databases import drop_database, fresh_database_url


@pytest.fixture
def empty_database(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_migrations")
    yield url
    drop_database(url)


def test_an_empty_database_upgrades_to_head(empty_database: str) -> None:
    assert current_revision(empty_database) is None
    upgrade(empty_database)
    assert current_revision(empty_database) == head_revision()
    engine = create_engine(empty_database, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_the_migrated_schema_matches_the_tables_exactly(empty_database: str) -> None:
    upgrade(empty_database)
    engine = create_engine(empty_database, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_the_revision_processes_check_for_is_the_newest_script() -> None:
    assert head_revision() == HEAD_REVISION


def test_the_migration_scripts_ship_with_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert (MIGRATIONS / "versions" / "__init__.py").is_file()


async def test_an_unmigrated_database_is_refused_with_the_fix(empty_database: str) -> None:
    engine = create_async_engine(empty_database, pool_size=1)
    try:
        with pytest.raises(SchemaOutOfDate, match=r"run `treadle migrate`") as raised:
            await ensure_schema_current(engine)
        assert head_revision() in str(raised.value)
        upgrade(empty_database)
        await ensure_schema_current(engine)
    finally:
        await engine.dispose()


def test_urls_with_a_percent_sign_survive_the_alembic_config() -> None:
    # A password like "p%40ss" must not be read as configparser interpolation.
    config = alembic_config("postgresql://user:p%40ss@db.example/x")
    assert config.get_main_option("sqlalchemy.url") == (
        "postgresql+psycopg://user:p%40ss@db.example/x"
    )


async def test_adapters_that_fail_to_start_leave_no_connection_open(empty_database: str) -> None:
    """A worker retries its start while the database is not ready: each failed start must
    close what it opened, or the retries pile up idle connections."""
    for _ in range(3):
        adapters = PostgresAdapters(empty_database, SystemClock(), pool_size=2)
        with pytest.raises(SchemaOutOfDate):
            await adapters.start()
    assert _sessions_on(empty_database) == 0


def _sessions_on(url: str) -> int:
    """Client sessions connected to `url`'s database, not counting the one asking."""
    database = make_url(url).database
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()
    assert row is not None
    return int(row[0])
