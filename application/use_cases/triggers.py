"""Webhook triggers of a workflow: create, change, enable or disable, delete.

A trigger that verifies requests needs a secret: the caller gives one, or one is made and
returned once (`TriggerSaved.secret`). It is encrypted before it is stored and never shown
again.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.errors import NotFound
from application.input_errors import InvalidInput
from application.ports.clock import Clock
from application.ports.encryptor import Encryptor
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.records import Workflow
from application.triggers.records import Trigger
from application.triggers.rules import (
    NEEDS_SECRET,
    check_trigger,
    header_name,
    header_names,
    new_secret,
    new_trigger_id,
    with_defaults,
)

UNCHANGED: Any = object()
"""Marks a field an update leaves alone (None is a real value for several)."""
MAX_SECRET_CHARS = 1024


@dataclass(frozen=True)
class TriggerSettings:
    """What a person sets on a trigger. `secret` is the plaintext, when given."""

    name: str = ""
    enabled: bool = True
    verification: str = "none"
    secret: str | None = None
    verify_header: str | None = None
    tolerance_seconds: int = 300
    delivery_id_header: str | None = None
    delivery_id_path: str | None = None
    headers: tuple[str, ...] = ()
    input_template: Any = None
    respond: str = "accepted"
    respond_node: str | None = None
    wait_seconds: float = 10.0
    max_body_bytes: int = 1024 * 1024
    rate_limit: float = 10.0


@dataclass(frozen=True)
class TriggerSaved:
    trigger: Trigger
    secret: str | None = None
    """A secret made for the trigger, shown this once."""


@dataclass(frozen=True)
class CreateTrigger:
    workspace_id: str
    workflow_id: str
    settings: TriggerSettings = TriggerSettings()
    actor: Actor = SYSTEM


async def _live_workflow(uow: UnitOfWork, workspace_id: str, workflow_id: str) -> Workflow:
    workflow = await uow.workflows.get(workspace_id, workflow_id)
    if workflow is None or workflow.archived:
        raise NotFound(f"no workflow {workflow_id} in this workspace")
    return workflow


async def _check_respond_node(uow: UnitOfWork, workflow: Workflow, trigger: Trigger) -> None:
    if trigger.respond_node is None:
        return
    version = await uow.workflows.get_version(workflow.id, workflow.latest_version)
    nodes = version.document.get("nodes", []) if version else []
    if trigger.respond_node not in {node.get("id") for node in nodes}:
        raise InvalidInput(
            "respond_node",
            f"the workflow's latest version has no node {trigger.respond_node!r}",
        )


class _TriggerWriter:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, encryptor: Encryptor) -> None:
        self._uow = uow
        self._clock = clock
        self._encryptor = encryptor

    def _sealed(self, trigger: Trigger, secret: str | None) -> TriggerSaved:
        """The trigger with `secret` encrypted in, or a new secret if it needs one."""
        if trigger.verification not in NEEDS_SECRET:
            return TriggerSaved(replace(trigger, secret_ciphertext=None))
        if secret is not None:
            if not 0 < len(secret) <= MAX_SECRET_CHARS:
                raise InvalidInput("secret", f"a secret has 1 to {MAX_SECRET_CHARS} characters")
            return TriggerSaved(replace(trigger, secret_ciphertext=self._encryptor.encrypt(secret)))
        if trigger.secret_ciphertext is not None:
            return TriggerSaved(trigger)
        made = new_secret()
        return TriggerSaved(replace(trigger, secret_ciphertext=self._encryptor.encrypt(made)), made)


def _normalised(settings: dict[str, Any]) -> dict[str, Any]:
    """Header names lower-cased and checked, the template kept under its record name."""
    out = dict(settings)
    for field in ("verify_header", "delivery_id_header"):
        if out.get(field) is not None:
            out[field] = header_name(out[field], field)
    if "headers" in out:
        out["headers"] = header_names(out["headers"])
    out.pop("secret", None)
    return out


class CreateTriggerHandler(_TriggerWriter):
    async def __call__(self, command: CreateTrigger) -> TriggerSaved:
        now = self._clock.now()
        given = {f.name: getattr(command.settings, f.name) for f in fields(TriggerSettings)}
        trigger = Trigger(
            id=new_trigger_id(),
            workspace_id=command.workspace_id,
            workflow_id=command.workflow_id,
            secret_ciphertext=None,
            created_at=now,
            updated_at=now,
            **_normalised(given),
        )
        trigger = with_defaults(trigger)
        check_trigger(trigger)
        async with self._uow() as uow:
            workflow = await _live_workflow(uow, command.workspace_id, command.workflow_id)
            await _check_respond_node(uow, workflow, trigger)
            saved = self._sealed(trigger, command.settings.secret)
            await uow.triggers.add(saved.trigger)
            details = {"workflow_id": workflow.id, "name": trigger.name}
            await record_change(
                uow,
                command.workspace_id,
                now,
                command.actor,
                AuditAction.TRIGGER_CREATED,
                trigger.id,
                details,
            )
            await uow.commit()
        return saved


@dataclass(frozen=True)
class UpdateTrigger:
    """Fields left as UNCHANGED keep their value (see `TriggerSettings` for each)."""

    workspace_id: str
    trigger_id: str
    changes: dict[str, Any]
    actor: Actor = SYSTEM

    def given(self) -> dict[str, Any]:
        names = {f.name for f in fields(TriggerSettings)}
        unknown = set(self.changes) - names
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "not a trigger setting")
        return {k: v for k, v in self.changes.items() if v is not UNCHANGED}


class UpdateTriggerHandler(_TriggerWriter):
    async def __call__(self, command: UpdateTrigger) -> TriggerSaved:
        given = command.given()
        async with self._uow() as uow:
            current = await _owned(uow, command.workspace_id, command.trigger_id)
            updated = replace(current, **_normalised(given), updated_at=self._clock.now())
            if updated.verification != current.verification:
                updated = _sources_reset(updated, given)
            updated = with_defaults(updated)
            check_trigger(updated)
            workflow = await _live_workflow(uow, command.workspace_id, current.workflow_id)
            await _check_respond_node(uow, workflow, updated)
            saved = self._sealed(updated, given.get("secret"))
            await uow.triggers.save(saved.trigger)
            action, details = trigger_change(current, saved.trigger, given)
            at = updated.updated_at
            await record_change(
                uow, command.workspace_id, at, command.actor, action, current.id, details
            )
            await uow.commit()
        return saved


def trigger_change(
    before: Trigger, after: Trigger, given: dict[str, Any]
) -> tuple[AuditAction, dict[str, Any]]:
    """How the audit log names a trigger's update: enabled or disabled when that is all
    that was changed, else updated, with the names of the settings given (never their
    values: a secret is one of them)."""
    details: dict[str, Any] = {"workflow_id": after.workflow_id, "changed": sorted(given)}
    if set(given) == {"enabled"} and before.enabled != after.enabled:
        action = AuditAction.TRIGGER_ENABLED if after.enabled else AuditAction.TRIGGER_DISABLED
        return action, details
    return AuditAction.TRIGGER_UPDATED, details


def _sources_reset(trigger: Trigger, given: dict[str, Any]) -> Trigger:
    """A new verification brings its own header and delivery id defaults, unless the
    update names them."""
    reset: dict[str, Any] = {
        name: None
        for name in ("verify_header", "delivery_id_header", "delivery_id_path")
        if name not in given
    }
    return replace(trigger, **reset)


async def _owned(uow: UnitOfWork, workspace_id: str, trigger_id: str) -> Trigger:
    found = await uow.triggers.get(workspace_id, trigger_id)
    if found is None:
        raise NotFound(f"no trigger {trigger_id} in this workspace")
    return found


@dataclass(frozen=True)
class DeleteTrigger:
    workspace_id: str
    trigger_id: str
    actor: Actor = SYSTEM


class DeleteTriggerHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: DeleteTrigger) -> None:
        async with self._uow() as uow:
            found = await _owned(uow, command.workspace_id, command.trigger_id)
            await uow.triggers.delete(command.trigger_id)
            await record_change(
                uow,
                command.workspace_id,
                self._clock.now(),
                command.actor,
                AuditAction.TRIGGER_DELETED,
                found.id,
                {"workflow_id": found.workflow_id, "name": found.name},
            )
            await uow.commit()
