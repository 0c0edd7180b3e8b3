"""Schema migrations: upgrade a database to this code's schema, or check that it is there.

Alembic is configured in code (no alembic.ini needed at run time); the scripts live in
the `migrations` package next to this module.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.database import translated_errors
from adapters.postgres.urls import sqlalchemy_url
from application.errors import SchemaOutOfDate

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # The option goes through configparser, which reads `%` as interpolation.
        config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the latest by default)."""
    with translated_errors():
        command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migration scripts were found")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None when it was never migrated."""
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with translated_errors(), engine.connect() as connection:
            return _revision_of(connection)
    finally:
        engine.dispose()


async def ensure_schema_current(engine: AsyncEngine) -> None:
    """Raise SchemaOutOfDate unless the database is at this code's head revision."""
    with translated_errors():
        async with engine.connect() as connection:
            current = await connection.run_sync(_revision_of)
    head = head_revision()
    if current != head:
        found = current or "no revision (an empty database)"
        raise SchemaOutOfDate(
            f"the database schema is at {found} but this Treadle needs {head}: "
            "run `treadle migrate`"
        )


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
