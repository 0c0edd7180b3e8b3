"""Fire due cron schedules: exactly one execution per schedule and fire time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from application.creation import insert_execution
from application.definitions import DefinitionCache
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.records import Schedule
from application.schedule_times import next_fire_after


@dataclass(frozen=True)
class FireDueSchedules:
    limit: int = 100


@dataclass(frozen=True)
class Fired:
    schedule_id: str
    fire_time: datetime
    execution_id: str | None
    skipped_reason: str | None = None


class FireDueSchedulesHandler:
    """Safe with any number of workers: due rows are locked and skipped by the others."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, definitions: DefinitionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._definitions = definitions

    async def __call__(self, command: FireDueSchedules) -> list[Fired]:
        now = self._clock.now()
        fired: list[Fired] = []
        async with self._uow() as uow:
            for schedule in await uow.schedules.lock_due(now, command.limit):
                fired.append(await self._fire(uow, schedule, now))
            await uow.commit()
        return fired

    async def _fire(self, uow: UnitOfWork, schedule: Schedule, now: datetime) -> Fired:
        assert schedule.next_fire_at is not None
        fire_time = self._fire_time(schedule, now)
        following = next_fire_after(schedule.cron, schedule.timezone, now)
        execution_id, reason = await self._start(uow, schedule, fire_time, now)
        updated = replace(
            schedule,
            next_fire_at=following,
            last_fired_at=fire_time,
            last_execution_id=execution_id or schedule.last_execution_id,
        )
        await uow.schedules.save(updated)
        return Fired(schedule.id, fire_time, execution_id, reason)

    @staticmethod
    def _fire_time(schedule: Schedule, now: datetime) -> datetime:
        """The fire time to run: the missed one with catch-up, else the latest that passed."""
        assert schedule.next_fire_at is not None
        if schedule.catch_up:
            return schedule.next_fire_at
        latest = schedule.next_fire_at
        while True:
            following = next_fire_after(schedule.cron, schedule.timezone, latest)
            if following > now:
                return latest
            latest = following

    async def _start(
        self, uow: UnitOfWork, schedule: Schedule, fire_time: datetime, now: datetime
    ) -> tuple[str | None, str | None]:
        if await uow.executions.find_by_schedule_fire(schedule.id, fire_time):
            return None, "already_fired"
        if schedule.overlap == "skip" and await uow.executions.any_active_for_schedule(schedule.id):
            return None, "previous_run_active"
        workflow = await uow.workflows.get(schedule.workspace_id, schedule.workflow_id)
        if workflow is None or workflow.archived:
            return None, "workflow_missing"
        definition = await self._definitions.load(uow, workflow.id, workflow.latest_version)
        execution = await insert_execution(
            uow,
            workflow=workflow,
            version=workflow.latest_version,
            definition=definition,
            input=schedule.input,
            now=now,
            schedule=(schedule.id, fire_time),
        )
        return execution.id, None
