"""The secret store port: values by name within a workspace, decrypted only on demand."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class SecretStore(Protocol):
    async def get_many(self, workspace_id: str, names: Iterable[str]) -> dict[str, str]:
        """The decrypted values of the named secrets that exist."""
        ...
