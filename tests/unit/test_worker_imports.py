"""The worker imports only what a worker runs: not the API, the console or the CLI, nor the
frameworks behind them. Each module imported costs every worker start CPU and time
(`python -m bench.startup` measures it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WORKER_MODULE = "entrypoints.worker.main"
NOT_FOR_WORKERS = (
    # The API, its services and the console; the CLI; `treadle dev`.
    "entrypoints.api",
    "entrypoints.console",
    "entrypoints.cli",
    "entrypoints.dev",
    # Their frameworks.
    "litestar",
    "uvicorn",
    "msgspec",
    "typer",
    "click",
    "rich",
)


def imported_by(module: str) -> list[str]:
    """Every module in `sys.modules` after a fresh interpreter imports `module`."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def test_importing_the_worker_leaves_api_console_and_cli_stacks_out() -> None:
    modules = imported_by(WORKER_MODULE)
    assert WORKER_MODULE in modules
    unwanted = [
        name
        for name in modules
        if any(name == banned or name.startswith(banned + ".") for banned in NOT_FOR_WORKERS)
    ]
    assert unwanted == []


def test_opening_postgres_storage_does_not_import_alembic() -> None:
    # What `bootstrap` imports to open PostgreSQL storage, schema check included.
    modules = imported_by("adapters.postgres.setup, adapters.postgres.readiness")
    assert "adapters.postgres.schema_version" in modules
    assert [name for name in modules if name == "alembic" or name.startswith("alembic.")] == []
