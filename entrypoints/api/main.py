"""`treadle api`: open the runtime, build the app and serve it with uvicorn.

It refuses to start, with one line saying what to do, when the database cannot be
reached or its schema is older than this code. With `TREADLE_API_WORKERS` above one,
a supervisor process binds the port and runs that many API processes on it
(`entrypoints.api.processes`); each bootstraps its own runtime, pool and listener.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

import uvicorn

from application.errors import SchemaOutOfDate, StorageError
from entrypoints.api.app import create_app
from entrypoints.bootstrap import bootstrap
from entrypoints.event_loop import run_loop
from entrypoints.logs import configure_logging
from entrypoints.runtime import Runtime
from entrypoints.settings import Settings

log = logging.getLogger("treadle.api")

# Open event streams would otherwise hold a graceful shutdown open for ever.
GRACEFUL_SHUTDOWN_SECONDS = 5
STARTUP_FAILED = 2
"""The exit status of a process that could not start (bad settings, database, schema)."""


def server_config(app: Any, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        access_log=settings.api_access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
        log_config=None,  # keep configure_logging's one-line format and token redaction
    )


async def _serve(settings: Settings, sockets: list[socket.socket] | None = None) -> None:
    runtime: Runtime = await bootstrap(settings)
    try:
        config = server_config(create_app(runtime, settings), settings)
        if sockets is None:
            log.info(
                "serving on http://%s:%s (storage: %s)",
                settings.api_host,
                settings.api_port,
                runtime.storage.where,
            )
        await uvicorn.Server(config).serve(sockets=sockets)
    finally:
        await runtime.close()


def serve_here(settings: Settings, sockets: list[socket.socket] | None = None) -> None:
    """Serve in this process; exit with STARTUP_FAILED when the database is not usable."""
    try:
        run_loop(lambda: _serve(settings, sockets))
    except (SchemaOutOfDate, StorageError) as error:
        print(f"treadle api: {error}", file=sys.stderr)
        sys.exit(STARTUP_FAILED)
    except KeyboardInterrupt:
        pass


def serve(settings: Settings) -> None:
    configure_logging(settings.log_level)
    if settings.api_workers > 1 and not settings.database_url:
        # Each process would keep its own in-memory store: requests would see different data.
        print("treadle api: TREADLE_API_WORKERS > 1 needs DATABASE_URL", file=sys.stderr)
        sys.exit(STARTUP_FAILED)
    if settings.api_workers > 1:
        from entrypoints.api.processes import serve_in_processes

        serve_in_processes(settings)
    else:
        serve_here(settings)


if __name__ == "__main__":
    from entrypoints.settings import SettingsError, load_settings

    try:
        serve(load_settings())
    except SettingsError as error:
        print(f"treadle api: {error}", file=sys.stderr)
        sys.exit(STARTUP_FAILED)
