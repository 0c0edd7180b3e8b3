"""`treadle api`: serve the HTTP API and the web console."""

from __future__ import annotations

import typer

from entrypoints.cli.common import guarded, settings_or_exit


def api(
    host: str | None = typer.Option(None, help="Interface to listen on [default: 127.0.0.1]."),
    port: int | None = typer.Option(None, min=0, max=65535, help="Port [default: 8000]."),
    workers: int | None = typer.Option(
        None, min=1, max=64, help="API processes on the port, one per core [default: 1]."
    ),
) -> None:
    """Serve the REST API and the web console (DATABASE_URL and SECRET_KEY required)."""
    from entrypoints.api.main import serve

    settings = settings_or_exit()
    overrides = {"api_host": host, "api_port": port, "api_workers": workers}
    settings = settings.model_copy(
        update={key: value for key, value in overrides.items() if value is not None}
    )
    guarded(settings.require_database)
    serve(settings)


def register(app: typer.Typer) -> None:
    app.command("api")(api)
