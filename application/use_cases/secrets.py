"""Workspace secrets: create, rotate, delete. Values are encrypted before they are stored
and no use case here ever returns one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.errors import ApplicationError, Conflict, NotFound
from application.input_errors import InvalidInput
from application.ports.clock import Clock
from application.ports.encryptor import Encryptor
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.records import StoredSecret

# Secret names are read in templates as `secrets.<name>`, so they must be identifiers.
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_SECRET_BYTES = 64 * 1024


class SecretsUnavailable(ApplicationError):
    """Secrets cannot be stored: the server has no SECRET_KEY to encrypt them with."""

    code = "secrets_unavailable"


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a secret: never its value."""

    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PutSecret:
    workspace_id: str
    name: str
    value: str
    actor: Actor = SYSTEM


def check_secret(command: PutSecret) -> None:
    if not SECRET_NAME.match(command.name):
        raise InvalidInput(
            "name", "a secret name is a letter or _ then letters, digits or _ (64 at most)"
        )
    if len(command.value.encode("utf-8")) > MAX_SECRET_BYTES:
        raise InvalidInput("value", f"a secret value is at most {MAX_SECRET_BYTES} bytes")


async def _existing(uow: UnitOfWork, workspace_id: str, name: str) -> StoredSecret | None:
    found = await uow.secrets.get_many(workspace_id, [name])
    return found[0] if found else None


class _SecretWriter:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, encryptor: Encryptor) -> None:
        self._uow = uow
        self._clock = clock
        self._encryptor = encryptor

    async def _write(self, command: PutSecret, *, must_exist: bool) -> SecretInfo:
        check_secret(command)
        ciphertext = self._encryptor.encrypt(command.value)
        now = self._clock.now()
        async with self._uow() as uow:
            existing = await _existing(uow, command.workspace_id, command.name)
            if must_exist and existing is None:
                raise NotFound(f"no secret {command.name!r} in this workspace")
            if not must_exist and existing is not None:
                raise Conflict(f"a secret named {command.name!r} exists: rotate it instead")
            created = existing.created_at if existing else now
            stored = StoredSecret(command.workspace_id, command.name, ciphertext, created, now)
            await uow.secrets.put(stored)
            # The name only: the value, even encrypted, stays out of the log.
            action = AuditAction.SECRET_ROTATED if existing else AuditAction.SECRET_CREATED
            await record_change(
                uow, command.workspace_id, now, command.actor, action, command.name, {}
            )
            await uow.commit()
        return SecretInfo(stored.name, created, now)


class CreateSecretHandler(_SecretWriter):
    async def __call__(self, command: PutSecret) -> SecretInfo:
        return await self._write(command, must_exist=False)


class RotateSecretHandler(_SecretWriter):
    """Replace the value of an existing secret; executions read the new one from then on."""

    async def __call__(self, command: PutSecret) -> SecretInfo:
        return await self._write(command, must_exist=True)


@dataclass(frozen=True)
class DeleteSecret:
    workspace_id: str
    name: str
    actor: Actor = SYSTEM


class DeleteSecretHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: DeleteSecret) -> None:
        async with self._uow() as uow:
            if not await uow.secrets.delete(command.workspace_id, command.name):
                raise NotFound(f"no secret {command.name!r} in this workspace")
            await record_change(
                uow,
                command.workspace_id,
                self._clock.now(),
                command.actor,
                AuditAction.SECRET_DELETED,
                command.name,
            )
            await uow.commit()


class NoEncryptor:
    """Stands in when the server has no SECRET_KEY: every attempt to store a secret fails."""

    def encrypt(self, plaintext: str) -> bytes:
        raise SecretsUnavailable()

    def decrypt(self, token: bytes) -> str:
        raise SecretsUnavailable()
