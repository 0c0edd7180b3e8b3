"""Alembic's environment: run migrations on one synchronous psycopg connection.

The URL comes from the Alembic config that `adapters.postgres.migrate` builds, or from a
connection it passes in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from adapters.postgres.tables import metadata
from adapters.postgres.urls import driver_options, driver_url, is_transaction_pooler, sqlalchemy_url

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        run_on(given)
        return
    url = sqlalchemy_url(config.get_main_option("sqlalchemy.url") or "")
    # Through a transaction pooler, as every other connection: nothing prepared on the server.
    declared = config.attributes.get("transaction_pooler")
    options = driver_options(is_transaction_pooler(url) if declared is None else declared)
    engine = create_engine(driver_url(url), poolclass=pool.NullPool, connect_args=options)
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    url = sqlalchemy_url(config.get_main_option("sqlalchemy.url") or "")
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
