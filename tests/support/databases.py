"""Where the tests' PostgreSQL comes from, and fresh empty databases on it.

The server is `TREADLE_TEST_DATABASE_URL` when set, otherwise an embedded server that
the root conftest starts for the session. When neither can be had, tests that need
PostgreSQL skip locally but fail under `CI=true`, so CI never passes without them.
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
_SQLALCHEMY_SCHEME = "postgresql+psycopg://"
_PLAIN_SCHEMES = ("postgresql://", "postgres://")
_PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,40}")


def configured_server_url() -> str | None:
    """The server URL from `TREADLE_TEST_DATABASE_URL`, as a SQLAlchemy URL, if set."""
    raw = os.environ.get(TEST_DATABASE_URL_ENV, "").strip()
    return as_sqlalchemy_url(raw) if raw else None


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
    """Create a new, empty, uniquely named database on `base_url`'s server; return its URL."""
    if not _PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(f"database prefix {prefix!r} must match {_PREFIX_PATTERN.pattern}")
    return ensure_database(base_url, f"{prefix}_{uuid.uuid4().hex[:16]}")


def drop_database(url: str) -> None:
    """Drop the database `url` points at, closing any connection still open on it."""
    name = make_url(url).database
    if not name:
        raise ValueError(f"{url!r} names no database")
    with psycopg.connect(libpq_conninfo(url, database="postgres"), autocommit=True) as conn:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(statement.format(sql.Identifier(name)))
