"""Secrets kept in process memory, encrypted as they would be in the database.

Production code for single-process use and for tests; `encrypted_value` lets a test check
that what is stored is ciphertext, not the value.
"""

from __future__ import annotations

from collections.abc import Iterable

from adapters.secrets.crypto import SecretCipher


class InMemorySecretStore:
    """Implements the `SecretStore` port, plus the writes the API needs."""

    def __init__(self, cipher: SecretCipher) -> None:
        self._cipher = cipher
        self._tokens: dict[tuple[str, str], bytes] = {}

    async def get_many(self, workspace_id: str, names: Iterable[str]) -> dict[str, str]:
        """The decrypted values of the named secrets that exist in the workspace."""
        found: dict[str, str] = {}
        for name in names:
            token = self._tokens.get((workspace_id, name))
            if token is not None:
                found[name] = self._cipher.decrypt(token)
        return found

    async def put(self, workspace_id: str, name: str, value: str) -> None:
        """Creates or replaces a secret."""
        self._tokens[(workspace_id, name)] = self._cipher.encrypt(value)

    async def delete(self, workspace_id: str, name: str) -> bool:
        """Removes a secret; whether it existed."""
        return self._tokens.pop((workspace_id, name), None) is not None

    async def names(self, workspace_id: str) -> list[str]:
        """The workspace's secret names, sorted; values are never listed."""
        return sorted(name for workspace, name in self._tokens if workspace == workspace_id)

    def encrypted_value(self, workspace_id: str, name: str) -> bytes | None:
        return self._tokens.get((workspace_id, name))

    def reset(self) -> None:
        self._tokens.clear()
