"""`treadle --help` and a command's `--help` load neither the engine nor the database
stack: each command imports what it needs when it runs."""

from __future__ import annotations

import subprocess
import sys

from entrypoints import dev
from entrypoints.cli import dev_command

HEAVY = (
    "entrypoints.bootstrap",
    "entrypoints.runtime",
    "entrypoints.containers",
    "entrypoints.dev",
    "application.engine.runner",
    "psycopg",
    "sqlalchemy",
    "alembic",
    "litestar",
    "httpx",
)


def test_the_cli_loads_no_engine_or_database_stack_before_a_command_runs() -> None:
    probe = (
        "import sys, entrypoints.cli.main\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == ""


def test_the_dev_commands_default_port_is_the_dev_stacks() -> None:
    assert dev_command.DEFAULT_DB_PORT == dev.DEFAULT_DB_PORT
