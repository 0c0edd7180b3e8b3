"""`treadle dev`: run PostgreSQL, the API with the console and workers locally."""

from __future__ import annotations

from pathlib import Path

import typer

from entrypoints.cli.common import fail

# entrypoints.dev's default, kept here so `treadle --help` need not import the dev stack
# (a test keeps the two equal).
DEFAULT_DB_PORT = 54329


def dev(
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port of the API."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface of the API."),
    db_port: int = typer.Option(
        DEFAULT_DB_PORT,
        "--db-port",
        envvar="TREADLE_DEV_DB_PORT",
        min=1,
        max=65535,
        help="Port of the embedded PostgreSQL (127.0.0.1 only).",
    ),
    data_dir: Path = typer.Option(
        Path(".treadle"), "--data-dir", help="Where the database, key and token live."
    ),
) -> None:
    """Start everything for local development; a crashed process is restarted, Ctrl-C stops
    it all, data stays."""
    from entrypoints.dev import DevError, DevOptions, run_dev

    options = DevOptions(root=data_dir, workers=workers, host=host, port=port, db_port=db_port)
    try:
        code = run_dev(options, say=lambda line: typer.echo(line))
    except DevError as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as error:  # one line, not a traceback: the fix is usually local
        fail(f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("dev")(dev)
