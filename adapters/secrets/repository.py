"""A secret store over the unit of work's secrets repository: decrypts on demand."""

from __future__ import annotations

from collections.abc import Iterable

from adapters.secrets.crypto import SecretCipher
from application.ports.unit_of_work import UnitOfWorkFactory


class RepositorySecretStore:
    def __init__(self, uow_factory: UnitOfWorkFactory, cipher: SecretCipher) -> None:
        self._uow = uow_factory
        self._cipher = cipher

    async def get_many(self, workspace_id: str, names: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(names))
        if not wanted:
            return {}
        async with self._uow() as uow:
            stored = await uow.secrets.get_many(workspace_id, wanted)
        return {secret.name: self._cipher.decrypt(secret.ciphertext) for secret in stored}
