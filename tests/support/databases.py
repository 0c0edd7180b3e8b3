"""Where the tests' PostgreSQL comes from, and fresh empty databases on it.

The server is `TREADLE_TEST_DATABASE_URL` when set, otherwise an embedded server that
the root conftest starts for the session. When neither can be had, tests that need
PostgreSQL skip locally but fail under `CI=true`, so CI never passes without them.

`TREADLE_TEST_DATABASE_URL` may be a transaction pooler (PgBouncer) in front of the
server; `TREADLE_TEST_SESSION_DATABASE_URL` then names the same server directly. Databases
are created and dropped through the direct URL (`admin_url`); the code under test gets
URLs on the pooler, and the direct URL to the same database as its session URL
(`session_url_for`), as a deployment behind Supabase's pooler would.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from adapters.postgres.embedded import ensure_database
from adapters.postgres.urls import libpq_conninfo

TEST_DATABASE_URL_ENV = "TREADLE_TEST_DATABASE_URL"
TEST_SESSION_DATABASE_URL_ENV = "TREADLE_TEST_SESSION_DATABASE_URL"
_SQLALCHEMY_SCHEME = "postgresql+psycopg://"
_PLAIN_SCHEMES = ("postgresql://", "postgres://")
_PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,40}")


def configured_server_url() -> str | None:
    """The server URL from `TREADLE_TEST_DATABASE_URL`, as a SQLAlchemy URL, if set."""
    raw = os.environ.get(TEST_DATABASE_URL_ENV, "").strip()
    return as_sqlalchemy_url(raw) if raw else None


def configured_session_server_url() -> str | None:
    """The direct URL of the server behind a pooled `TREADLE_TEST_DATABASE_URL`, if set."""
    raw = os.environ.get(TEST_SESSION_DATABASE_URL_ENV, "").strip()
    return as_sqlalchemy_url(raw) if raw else None


def session_url_for(url: str) -> str | None:
    """The direct URL to the database `url` names, when `url` is on the configured pooler
    (None otherwise: `url` itself serves for sessions)."""
    direct = configured_session_server_url()
    pooled = configured_server_url()
    if direct is None or pooled is None or not _same_server(url, pooled):
        return None
    database = make_url(as_sqlalchemy_url(url)).database
    return make_url(direct).set(database=database).render_as_string(hide_password=False)


def admin_url(url: str) -> str:
    """The URL to administer `url`'s database through: directly, not through a pooler
    (which keeps idle server connections to every database it has served)."""
    return session_url_for(url) or as_sqlalchemy_url(url)


def _same_server(url: str, other: str) -> bool:
    first, second = make_url(as_sqlalchemy_url(url)), make_url(as_sqlalchemy_url(other))
    return (first.host, first.port) == (second.host, second.port)


def as_sqlalchemy_url(url: str) -> str:
    """Accept libpq-style `postgresql://` (or `postgres://`) URLs; use the psycopg 3 driver."""
    for scheme in _PLAIN_SCHEMES:
        if url.startswith(scheme):
            return _SQLALCHEMY_SCHEME + url.removeprefix(scheme)
    return url


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def skip_or_fail(reason: str) -> NoReturn:
    """Skip a test that cannot get PostgreSQL here; fail it in CI, where it must run."""
    if running_in_ci():
        pytest.fail(f"{reason} (CI=true: tests that need PostgreSQL must run)", pytrace=False)
    pytest.skip(reason)


def fresh_database_url(base_url: str, prefix: str) -> str:
    """Create a new, empty, uniquely named database on `base_url`'s server; return its URL
    (on the pooler when `base_url` is on it)."""
    if not _PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(f"database prefix {prefix!r} must match {_PREFIX_PATTERN.pattern}")
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    ensure_database(admin_url(base_url), name)
    url = make_url(as_sqlalchemy_url(base_url)).set(database=name)
    return url.render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database `url` points at, closing any connection still open on it."""
    name = make_url(url).database
    if not name:
        raise ValueError(f"{url!r} names no database")
    conninfo = libpq_conninfo(admin_url(url), database="postgres")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(statement.format(sql.Identifier(name)))
