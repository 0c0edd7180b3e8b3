"""The schema revision this code needs, and the check that a database is at it.

Workers and API processes check the schema every time they start (and on each readiness
probe). Asking alembic costs every start ~0.15 s of CPU importing it (it loads every
database dialect, mako and pygments) for what is one SELECT, so the check reads alembic's
version table itself. `HEAD_REVISION` is kept equal to the newest migration script by a
test (`migrate.head_revision()` asks alembic).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.database import translated_errors
from application.errors import SchemaOutOfDate

HEAD_REVISION = "0013"
"""The revision of the newest script in `migrations/versions`."""

_HAS_VERSION_TABLE = text("SELECT to_regclass('alembic_version') IS NOT NULL")
_VERSION = text("SELECT version_num FROM alembic_version")


async def ensure_schema_current(engine: AsyncEngine) -> None:
    """Raise SchemaOutOfDate unless the database is at this code's head revision."""
    with translated_errors():
        async with engine.connect() as connection:
            current = None
            if (await connection.execute(_HAS_VERSION_TABLE)).scalar_one():
                current = (await connection.execute(_VERSION)).scalar_one_or_none()
    if current != HEAD_REVISION:
        found = current or "no revision (an empty database)"
        raise SchemaOutOfDate(
            f"the database schema is at {found} but this Treadle needs {HEAD_REVISION}: "
            "run `treadle migrate`"
        )
