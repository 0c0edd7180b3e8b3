"""Cron schedules of a workflow: create, change, enable or disable, delete.

The next fire time is computed here (in UTC, from the cron expression read in the
schedule's time zone); the worker's `FireDueSchedules` takes it from there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from application.audit import SYSTEM, Actor, AuditAction, record_change
from application.errors import NotFound
from application.ids import new_id
from application.input_errors import InvalidInput
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.records import Schedule
from application.schedule_times import cron_problem, is_valid_timezone, next_fire_after

OVERLAP_POLICIES = ("allow", "skip")
UNCHANGED: Any = object()
"""Marks a field an update leaves alone (None is a real value for `input`)."""


def check_timing(cron: str, timezone: str, now: datetime) -> None:
    """Refuse a cron that is not one or never fires, and an unknown time zone."""
    problem = cron_problem(cron, now)
    if problem is not None:
        raise InvalidInput("cron", problem)
    if not is_valid_timezone(timezone):
        raise InvalidInput("timezone", f"{timezone!r} is not an IANA time zone (like 'UTC')")


def check_overlap(overlap: str) -> None:
    if overlap not in OVERLAP_POLICIES:
        raise InvalidInput("overlap", f"overlap must be 'allow' or 'skip', not {overlap!r}")


def next_fire(schedule: Schedule, now: datetime) -> datetime | None:
    return next_fire_after(schedule.cron, schedule.timezone, now) if schedule.enabled else None


async def _owned(uow: UnitOfWork, workspace_id: str, schedule_id: str) -> Schedule:
    found = await uow.schedules.get(workspace_id, schedule_id)
    if found is None:
        raise NotFound(f"no schedule {schedule_id} in this workspace")
    return found


@dataclass(frozen=True)
class CreateSchedule:
    workspace_id: str
    workflow_id: str
    cron: str
    timezone: str = "UTC"
    input: Any = None
    enabled: bool = True
    overlap: str = "allow"
    catch_up: bool = False
    actor: Actor = SYSTEM


class CreateScheduleHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: CreateSchedule) -> Schedule:
        now = self._clock.now()
        check_timing(command.cron, command.timezone, now)
        check_overlap(command.overlap)
        async with self._uow() as uow:
            workflow = await uow.workflows.get(command.workspace_id, command.workflow_id)
            if workflow is None or workflow.archived:
                raise NotFound(f"no workflow {command.workflow_id} in this workspace")
            schedule = Schedule(
                id=new_id("sch"),
                workspace_id=command.workspace_id,
                workflow_id=workflow.id,
                cron=command.cron,
                timezone=command.timezone,
                input=command.input,
                enabled=command.enabled,
                next_fire_at=None,
                created_at=now,
                overlap=command.overlap,
                catch_up=command.catch_up,
            )
            schedule = replace(schedule, next_fire_at=next_fire(schedule, now))
            await uow.schedules.add(schedule)
            details = {
                "workflow_id": workflow.id,
                "cron": schedule.cron,
                "enabled": schedule.enabled,
            }
            await record_change(
                uow,
                command.workspace_id,
                now,
                command.actor,
                AuditAction.SCHEDULE_CREATED,
                schedule.id,
                details,
            )
            await uow.commit()
        return schedule


EDITABLE_FIELDS = ("cron", "timezone", "input", "enabled", "overlap", "catch_up")
"""What an update may change, and what its audit entry says changed."""


@dataclass(frozen=True)
class UpdateSchedule:
    """Fields left as UNCHANGED keep their value."""

    workspace_id: str
    schedule_id: str
    cron: Any = UNCHANGED
    timezone: Any = UNCHANGED
    input: Any = UNCHANGED
    enabled: Any = UNCHANGED
    overlap: Any = UNCHANGED
    catch_up: Any = UNCHANGED
    actor: Actor = SYSTEM

    def changes(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in EDITABLE_FIELDS
            if getattr(self, name) is not UNCHANGED
        }


class UpdateScheduleHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: UpdateSchedule) -> Schedule:
        now = self._clock.now()
        async with self._uow() as uow:
            current = await _owned(uow, command.workspace_id, command.schedule_id)
            updated = replace(current, **command.changes())
            check_timing(updated.cron, updated.timezone, now)
            check_overlap(updated.overlap)
            if _timing_changed(current, updated):
                updated = replace(updated, next_fire_at=next_fire(updated, now))
            await uow.schedules.save(updated)
            action, details = schedule_change(current, updated)
            await record_change(
                uow, command.workspace_id, now, command.actor, action, updated.id, details
            )
            await uow.commit()
        return updated


def schedule_change(before: Schedule, after: Schedule) -> tuple[AuditAction, dict[str, Any]]:
    """How the audit log names a schedule's update: enabled or disabled when that is all
    that changed, else updated, with the names (not the values: an input is a run's input)
    of the fields that changed."""
    changed = [name for name in EDITABLE_FIELDS if getattr(before, name) != getattr(after, name)]
    details: dict[str, Any] = {"workflow_id": after.workflow_id, "changed": changed}
    if changed == ["enabled"]:
        action = AuditAction.SCHEDULE_ENABLED if after.enabled else AuditAction.SCHEDULE_DISABLED
        return action, details
    return AuditAction.SCHEDULE_UPDATED, details


def _timing_changed(before: Schedule, after: Schedule) -> bool:
    def timing(schedule: Schedule) -> tuple[str, str, bool]:
        return (schedule.cron, schedule.timezone, schedule.enabled)

    return timing(before) != timing(after)


@dataclass(frozen=True)
class DeleteSchedule:
    workspace_id: str
    schedule_id: str
    actor: Actor = SYSTEM


class DeleteScheduleHandler:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: DeleteSchedule) -> None:
        async with self._uow() as uow:
            found = await _owned(uow, command.workspace_id, command.schedule_id)
            await uow.schedules.delete(command.schedule_id)
            await record_change(
                uow,
                command.workspace_id,
                self._clock.now(),
                command.actor,
                AuditAction.SCHEDULE_DELETED,
                found.id,
                {"workflow_id": found.workflow_id},
            )
            await uow.commit()
