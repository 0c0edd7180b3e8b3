"""Database URLs: what users give (libpq or Supabase style) and what the drivers need."""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy.engine import make_url

DRIVER_SCHEME = "postgresql+psycopg://"
_PLAIN_SCHEMES = ("postgresql://", "postgres://")


def sqlalchemy_url(url: str) -> str:
    """`postgresql://`, `postgres://` or `postgresql+psycopg://` as a psycopg 3 SQLAlchemy URL."""
    url = url.strip()
    for scheme in _PLAIN_SCHEMES:
        if url.startswith(scheme):
            return DRIVER_SCHEME + url.removeprefix(scheme)
    if not url.startswith(DRIVER_SCHEME):
        raise ValueError("the database URL must start with postgresql:// or postgres://")
    return url


def libpq_url(url: str) -> str:
    """The same URL in the `postgresql://` form that libpq tools (`psql`, `pg_dump`) accept."""
    return "postgresql://" + sqlalchemy_url(url).removeprefix(DRIVER_SCHEME)


def libpq_conninfo(url: str, database: str | None = None) -> str:
    """The same database (or `database` on that server) as a libpq connection string."""
    parsed = make_url(sqlalchemy_url(url))
    params: dict[str, Any] = {
        key: value if isinstance(value, str) else value[-1] for key, value in parsed.query.items()
    }
    fields = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": database or parsed.database,
    }
    params.update({key: value for key, value in fields.items() if value})
    return psycopg.conninfo.make_conninfo(**params)
