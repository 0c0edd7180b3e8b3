"""`treadle`: run the API, workers and migrations; manage workflows, runs and tokens."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from entrypoints.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    help="Treadle: a durable workflow engine on PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")


def fail(message: str, code: int = 1) -> None:
    """Print one clear line and exit non-zero."""
    typer.secho(f"treadle: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        fail(str(error), 2)
        raise  # unreachable: fail() raises


def guarded(action: Callable[[], T]) -> T:
    """Run a command body, turning the errors a person can fix into one line."""
    try:
        return action()
    except SettingsError as error:
        fail(str(error), 2)
    except Exception as error:  # the last line of defence of a CLI: no traceback walls
        code = getattr(error, "code", type(error).__name__)
        fail(f"{code}: {error}")
    raise AssertionError("unreachable")


@app.command()
def migrate() -> None:
    """Upgrade the database schema to this version of Treadle."""
    from adapters.postgres.migrate import upgrade

    settings = settings_or_exit()

    def run() -> None:
        upgrade(settings.require_database())

    guarded(run)
    typer.echo("database schema is current")


@app.command()
def worker(
    concurrency: int | None = typer.Option(None, help="Executions in flight at once."),
) -> None:
    """Run a worker: claim executions from Postgres and run their nodes."""
    from entrypoints.worker.main import main as run_worker

    settings = settings_or_exit()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    guarded(lambda: settings.require_database())
    run_worker(settings)


def _register_optional(module: str) -> None:
    """Attach sub-commands that live in their own modules, when present."""
    try:
        imported: Any = __import__(module, fromlist=["register"])
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("entrypoints"):
            return
        raise
    imported.register(app)


for _module in (
    "entrypoints.cli.api_command",
    "entrypoints.cli.dev_command",
    "entrypoints.cli.manage",
):
    _register_optional(_module)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
