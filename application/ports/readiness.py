"""The readiness port: whether this process's storage can serve requests right now."""

from __future__ import annotations

from typing import Protocol


class Readiness(Protocol):
    async def check(self) -> None:
        """Return if storage answers and its schema is the one this code expects; raise
        `StorageError` or `SchemaOutOfDate` otherwise."""
        ...
