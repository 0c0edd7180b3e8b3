"""The test-database helpers: server URL from the environment, fresh databases, CI rules."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from adapters.postgres.urls import libpq_conninfo
from tests.support.databases import (
    TEST_DATABASE_URL_ENV,
    as_sqlalchemy_url,
    configured_server_url,
    drop_database,
    fresh_database_url,
    skip_or_fail,
)


def database_names(server_url: str) -> set[str]:
    with psycopg.connect(libpq_conninfo(server_url)) as conn:
        rows = conn.execute("SELECT datname FROM pg_database").fetchall()
    return {str(name) for (name,) in rows}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/x", "postgresql+psycopg://u:p@db:5432/x"),
        ("postgres://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
    ],
)
def test_plain_postgres_urls_get_the_psycopg_driver(given: str, expected: str) -> None:
    assert as_sqlalchemy_url(given) == expected


def test_the_environment_names_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_DATABASE_URL_ENV, "postgresql://ci@127.0.0.1:55432/treadle")
    assert configured_server_url() == "postgresql+psycopg://ci@127.0.0.1:55432/treadle"
    monkeypatch.setenv(TEST_DATABASE_URL_ENV, "  ")
    assert configured_server_url() is None


def test_missing_postgres_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server"):
        skip_or_fail("no server")


def test_missing_postgres_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        skip_or_fail("no server")


def test_fresh_databases_are_new_empty_and_droppable(postgres_server_url: str) -> None:
    first = fresh_database_url(postgres_server_url, "treadle_fresh")
    second = fresh_database_url(postgres_server_url, "treadle_fresh")
    first_name, second_name = make_url(first).database, make_url(second).database
    assert first_name != second_name
    assert {first_name, second_name} <= database_names(postgres_server_url)
    with psycopg.connect(libpq_conninfo(first)) as conn:
        row = conn.execute(
            "SELECT current_database(), count(*) FROM information_schema.tables"
            " WHERE table_schema = 'public'"
        ).fetchone()
    assert row == (first_name, 0)

    drop_database(first)
    drop_database(second)

    assert not {first_name, second_name} & database_names(postgres_server_url)


def test_a_bad_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        fresh_database_url("postgresql+psycopg://u@h/x", "Robert'); DROP")


def test_the_session_database_is_reachable(postgres_database_url: str) -> None:
    with psycopg.connect(libpq_conninfo(postgres_database_url)) as conn:
        row = conn.execute("SELECT current_database()").fetchone()
    assert row == (make_url(postgres_database_url).database,)
