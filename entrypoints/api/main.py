"""`treadle api`: open the runtime, build the app and serve it with uvicorn.

It refuses to start, with one line saying what to do, when the database cannot be
reached or its schema is older than this code.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import uvicorn

from application.errors import SchemaOutOfDate, StorageError
from entrypoints.api.app import create_app
from entrypoints.logs import configure_logging
from entrypoints.runtime import Runtime, open_runtime
from entrypoints.settings import Settings, database_host

log = logging.getLogger("treadle.api")

# Open event streams would otherwise hold a graceful shutdown open for ever.
GRACEFUL_SHUTDOWN_SECONDS = 5


async def _serve(settings: Settings) -> None:
    runtime: Runtime = await open_runtime(settings)
    try:
        app = create_app(runtime, settings)
        config = uvicorn.Config(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            lifespan="on",
            log_config=None,  # keep configure_logging's one-line format and token redaction
        )
        where = database_host(settings.database_url) if settings.database_url else "memory"
        log.info(
            "serving on http://%s:%s (storage: %s)", settings.api_host, settings.api_port, where
        )
        await uvicorn.Server(config).serve()
    finally:
        await runtime.close()


def serve(settings: Settings) -> None:
    configure_logging(settings.log_level)
    try:
        asyncio.run(_serve(settings))
    except (SchemaOutOfDate, StorageError) as error:
        print(f"treadle api: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    from entrypoints.settings import SettingsError, load_settings

    try:
        serve(load_settings())
    except SettingsError as error:
        print(f"treadle api: {error}", file=sys.stderr)
        sys.exit(2)
