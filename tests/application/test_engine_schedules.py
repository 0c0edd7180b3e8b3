"""Cron schedules: one execution per fire time however often or by however many
workers the schedules are fired, and missed fire times skipped by default."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from application.records import Schedule
from application.use_cases.fire_schedules import FireDueSchedules
from tests.application.conftest import WORKSPACE, Harness, document, scripted

EVERY_FIVE_MINUTES = "*/5 * * * *"


async def add_schedule(harness: Harness, *, catch_up: bool = False) -> Schedule:
    workflow_id = await harness.create(document([scripted("tick")]))
    now = harness.clock.now()
    schedule = Schedule(
        id="sch_1",
        workspace_id=WORKSPACE,
        workflow_id=workflow_id,
        cron=EVERY_FIVE_MINUTES,
        timezone="UTC",
        input={"from": "cron"},
        enabled=True,
        next_fire_at=now + timedelta(minutes=5),
        created_at=now,
        catch_up=catch_up,
    )
    async with harness.adapters.uow_factory()() as uow:
        await uow.schedules.add(schedule)
        await uow.commit()
    return schedule


def scheduled(harness: Harness) -> list[tuple[object, object]]:
    return sorted(
        (e.scheduled_for, e.input)
        for e in harness.store.executions.values()
        if e.schedule_id == "sch_1"
    )


async def test_a_schedule_fires_once_per_fire_time_even_when_fired_twice(
    harness: Harness,
) -> None:
    schedule = await add_schedule(harness)
    fire = harness.engine.fire_schedules()
    assert schedule.next_fire_at is not None

    harness.clock.advance(to=schedule.next_fire_at - timedelta(microseconds=1))
    assert await fire(FireDueSchedules()) == []
    harness.clock.advance(to=schedule.next_fire_at)
    first = await fire(FireDueSchedules())
    second = await fire(FireDueSchedules())

    assert [f.fire_time for f in first] == [schedule.next_fire_at]
    assert first[0].execution_id is not None
    assert second == []
    assert scheduled(harness) == [(schedule.next_fire_at, {"from": "cron"})]
    stored = harness.store.schedules["sch_1"]
    assert stored.next_fire_at == schedule.next_fire_at + timedelta(minutes=5)


async def test_two_workers_firing_schedules_start_one_execution_per_fire_time(
    harness: Harness,
) -> None:
    schedule = await add_schedule(harness)
    assert schedule.next_fire_at is not None
    workers = [harness.worker(name, schedules=True) for name in ("w1", "w2")]

    for fire_time in (schedule.next_fire_at, schedule.next_fire_at + timedelta(minutes=5)):
        harness.clock.advance(to=fire_time)
        await asyncio.gather(*(worker.run_until_idle() for worker in workers))
        await asyncio.gather(*(worker.run_until_idle() for worker in workers))

    fired = scheduled(harness)
    assert [when for when, _ in fired] == [
        schedule.next_fire_at,
        schedule.next_fire_at + timedelta(minutes=5),
    ]
    assert {e.status.value for e in harness.store.executions.values()} == {"completed"}
    assert len(harness.executor.calls) == 2


async def test_missed_fire_times_are_skipped_by_default(harness: Harness) -> None:
    schedule = await add_schedule(harness)
    assert schedule.next_fire_at is not None
    harness.clock.advance(to=schedule.next_fire_at + timedelta(minutes=17))  # 4 fire times passed

    fired = await harness.engine.fire_schedules()(FireDueSchedules())
    again = await harness.engine.fire_schedules()(FireDueSchedules())

    latest = schedule.next_fire_at + timedelta(minutes=15)
    assert [f.fire_time for f in fired] == [latest]
    assert again == []
    assert [when for when, _ in scheduled(harness)] == [latest]
    assert harness.store.schedules["sch_1"].next_fire_at == latest + timedelta(minutes=5)
