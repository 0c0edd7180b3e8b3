"""Readiness of the in-memory store: it lives in this process, so it is ready while we are."""

from __future__ import annotations


class AlwaysReady:
    async def check(self) -> None:
        return None
