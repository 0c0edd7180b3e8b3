"""Schema migrations: upgrade a database to this code's schema, and read its revision.

The check that a database is current, which every process makes as it starts, is in
`schema_version` (it needs no alembic).

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

from adapters.postgres.database import translated_errors
from adapters.postgres.urls import driver_options, driver_url, is_transaction_pooler, sqlalchemy_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # The option goes through configparser, which reads `%` as interpolation.
        config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", pooler: str = "auto") -> None:
    """Bring the database at `url` to `revision` (the latest by default); `pooler` says
    whether `url` is a transaction pooler, as `is_transaction_pooler` reads it."""
    config = alembic_config(url)
    config.attributes["transaction_pooler"] = is_transaction_pooler(url, pooler)
    with translated_errors():
        command.upgrade(config, revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migration scripts were found")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None when it was never migrated."""
    engine = create_engine(
        driver_url(url),
        poolclass=pool.NullPool,
        connect_args=driver_options(is_transaction_pooler(url)),
    )
    try:
        with translated_errors(), engine.connect() as connection:
            return _revision_of(connection)
    finally:
        engine.dispose()


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
