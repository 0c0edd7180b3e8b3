"""Workers listening for work see each other through their membership locks, and a work
notification wakes at once only the worker it is routed to; the others sweep later.

Workers here are `PostgresAdapters` built as the worker process builds them; what they hold
is read back through a separate administrative connection, which also sends the
notifications. Each test closes the workers it started, so that the next one begins with
no members (a closed worker's backend may take a moment to end: tests that count members
wait for the count they expect).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import psycopg
import pytest

from adapters.clock import SystemClock
from adapters.postgres.direct import DirectConnection
from adapters.postgres.listener import PostgresListener
from adapters.postgres.migrate import upgrade
from adapters.postgres.queue import PostgresWorkQueue
from adapters.postgres.setup import PostgresAdapters
from adapters.postgres.urls import libpq_conninfo
from adapters.postgres.wake_routing import MEMBERS, MEMBERSHIP_CLASS, WakeRouter
from application.creation import WORK_CHANNEL
from application.ids import new_id
from domain.status import ExecutionStatus as S
from tests.contract.builders import add_execution, add_workflow
from tests.support.connections import DEADLINE, eventually, terminate
from tests.support.databases import drop_database, fresh_database_url

SWEEP_DELAY = 0.5  # seconds: long enough that a loaded machine tells "at once" from "later"
IDS = [f"execution-{number}" for number in range(200)]
NOWHERE = "host=unused"  # a conninfo for the tests that never connect

Admin = psycopg.AsyncConnection[tuple[object, ...]]


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str) -> Iterator[str]:
    url = fresh_database_url(postgres_server_url, "treadle_wake_routing")
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[Admin]:
    """Another connection to the same database: reads `pg_locks`, sends notifications."""
    connection = await psycopg.AsyncConnection.connect(
        libpq_conninfo(database_url), autocommit=True
    )
    async with connection:
        yield connection


@asynccontextmanager
async def started(url: str, *, runs_worker: bool = True) -> AsyncIterator[PostgresAdapters]:
    adapters = PostgresAdapters(
        url, SystemClock(), channels=(WORK_CHANNEL,), runs_worker=runs_worker
    )
    await adapters.start()
    try:
        yield adapters
    finally:
        await adapters.close()


def router_of(worker: PostgresAdapters) -> WakeRouter:
    router = worker.queue._router
    assert router is not None
    return router


def known_members(worker: PostgresAdapters) -> tuple[int, ...]:
    return router_of(worker)._members


async def member_slots(admin: Admin) -> set[int]:
    """The slots of the processes listening for work, as any worker reads them."""
    cursor = await admin.execute(MEMBERS, {"class": MEMBERSHIP_CLASS})
    return {int(row[0]) for row in await cursor.fetchall()}  # type: ignore[call-overload]


async def members_become(admin: Admin, expected: set[int]) -> None:
    """Wait until the listening processes are exactly `expected` (ended backends leave late)."""

    async def become() -> bool:
        return await member_slots(admin) == expected

    await eventually(become, f"the members to be {expected}")


async def refreshed_until(worker: PostgresAdapters, expected: tuple[int, ...]) -> None:
    """Have the worker read the members again until it knows exactly `expected`."""

    async def known() -> bool:
        await worker.queue._refresh_members()
        return known_members(worker) == expected

    await eventually(known, f"the worker to know {expected}")


async def advisory_locks_of(admin: Admin, pid: int | None) -> list[tuple[object, ...]]:
    """The (class, key) of the advisory locks that backend `pid` holds."""
    cursor = await admin.execute(
        "SELECT classid::bigint, objid::bigint FROM pg_locks"
        " WHERE locktype = 'advisory' AND granted AND pid = %s",
        (pid,),
    )
    return await cursor.fetchall()


async def listening_again(worker: PostgresAdapters, lost: int) -> None:
    """Wait until the worker's listener listens on a connection other than `lost`."""

    async def again() -> bool:
        return worker.listener.backend_pid not in (None, lost)

    await eventually(again, "the listener to connect again")


def an_id(condition: Callable[[str], bool]) -> str:
    return next(execution_id for execution_id in IDS if condition(execution_id))


async def notify(admin: Admin, payload: dict[str, object]) -> None:
    await admin.execute("SELECT pg_notify(%s, %s)", (WORK_CHANNEL, json.dumps(payload)))


async def seconds_to_wake(
    worker: PostgresAdapters, admin: Admin, payload: dict[str, object]
) -> float:
    """Send a work notification and time how long the worker's wait for work takes to end."""
    worker.listener.work_available.clear()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await notify(admin, payload)
    woke = await worker.queue.wait_for_work(DEADLINE)
    assert woke, "the worker was not woken at all"
    return loop.time() - began


async def test_each_worker_holds_its_membership_on_its_listen_connection(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as worker:
        held = await advisory_locks_of(admin, worker.listener.backend_pid)

    assert held == [(MEMBERSHIP_CLASS, router_of(worker).slot)]


async def test_two_workers_each_learn_both_slots_when_they_wait_for_work(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as first, started(database_url) as second:
        slots = {router_of(first).slot, router_of(second).slot}
        await members_become(admin, slots)

        await first.queue.wait_for_work(0)  # the first wait reads the members
        await second.queue.wait_for_work(0)

        assert known_members(first) == known_members(second) == tuple(sorted(slots))
        for execution_id in IDS:
            answering = [router_of(w).designated(execution_id) for w in (first, second)]
            assert answering.count(True) == 1, execution_id
        assert any(router_of(first).designated(execution_id) for execution_id in IDS)
        assert any(router_of(second).designated(execution_id) for execution_id in IDS)


async def test_a_worker_that_closed_leaves_the_others_view_on_their_next_refresh(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as staying:
        async with started(database_url) as leaving:
            both = tuple(sorted({router_of(staying).slot, router_of(leaving).slot}))
            await refreshed_until(staying, both)
            assert not all(router_of(staying).designated(execution_id) for execution_id in IDS)

        await refreshed_until(staying, (router_of(staying).slot,))

        assert all(router_of(staying).designated(execution_id) for execution_id in IDS)


async def test_a_worker_whose_listen_connection_was_lost_takes_its_membership_again(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as worker:
        slot = router_of(worker).slot
        await members_become(admin, {slot})
        lost = worker.listener.backend_pid
        assert lost is not None

        await terminate(database_url, lost)
        await listening_again(worker, lost)

        await members_become(admin, {slot})  # taken again by the replacement connection
        assert await advisory_locks_of(admin, worker.listener.backend_pid) == [
            (MEMBERSHIP_CLASS, slot)
        ]


async def test_a_notification_routed_to_this_worker_wakes_it_at_once(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as worker, started(database_url) as other:
        both = tuple(sorted({router_of(worker).slot, router_of(other).slot}))
        await refreshed_until(worker, both)
        router_of(worker).sweep_delay = SWEEP_DELAY
        mine = an_id(router_of(worker).designated)

        waited = await seconds_to_wake(worker, admin, {"execution_id": mine})

        assert waited < 0.5 * SWEEP_DELAY


async def test_a_notification_routed_to_another_worker_wakes_this_one_only_after_the_sweep_delay(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as worker, started(database_url) as other:
        both = tuple(sorted({router_of(worker).slot, router_of(other).slot}))
        await refreshed_until(worker, both)
        router_of(worker).sweep_delay = SWEEP_DELAY
        theirs = an_id(lambda execution_id: not router_of(worker).designated(execution_id))

        waited = await seconds_to_wake(worker, admin, {"execution_id": theirs})

        assert waited >= 0.8 * SWEEP_DELAY


async def test_a_notification_without_an_execution_id_wakes_every_worker_at_once(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as worker, started(database_url) as other:
        both = tuple(sorted({router_of(worker).slot, router_of(other).slot}))
        await refreshed_until(worker, both)
        router_of(worker).sweep_delay = SWEEP_DELAY

        waited = await seconds_to_wake(worker, admin, {"reason": "released"})

        assert waited < 0.5 * SWEEP_DELAY


async def test_a_process_that_runs_no_worker_holds_no_membership(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url, runs_worker=False) as api:
        listening = api.listener.backend_pid
        assert listening is not None

        assert await advisory_locks_of(admin, listening) == []
        assert api.queue._router is None
        await members_become(admin, set())  # whatever earlier tests left has gone; nothing new


# ---- The queue's routing, without a database ---------------------------------------------


def router_knowing(slot: int, members: tuple[int, ...]) -> WakeRouter:
    router = WakeRouter(slot, SystemClock(), sweep_delay=SWEEP_DELAY)
    router.members_are(members)
    return router


def others_id() -> str:
    """An execution that slot 2 answers at once when the members are slots 1 and 2."""
    return an_id(lambda execution_id: not router_knowing(1, (1, 2)).designated(execution_id))


def routed_queue(*, designated: bool) -> tuple[PostgresWorkQueue, PostgresListener]:
    """The queue of slot 1, whose router designates it for `others_id()`, or not.

    Nothing here connects: the routing runs on the listener's notifications alone.
    """
    router = router_knowing(1, (1,) if designated else (1, 2))
    listener = PostgresListener(NOWHERE, (WORK_CHANNEL,), membership=router.membership)
    queue = PostgresWorkQueue(DirectConnection(NOWHERE), SystemClock(), listener, router)
    return queue, listener


async def event_set_within(event: asyncio.Event, seconds: float) -> None:
    await asyncio.wait_for(event.wait(), seconds)


async def test_only_one_sweep_is_pending_however_many_notifications_went_elsewhere() -> None:
    queue, listener = routed_queue(designated=False)
    try:
        listener._dispatch(WORK_CHANNEL, json.dumps({"execution_id": others_id()}))
        pending = queue._sweep
        listener._dispatch(WORK_CHANNEL, json.dumps({"execution_id": others_id()}))

        assert pending is not None
        assert queue._sweep is pending
        assert not listener.work_available.is_set()
        await event_set_within(listener.work_available, DEADLINE)
        assert queue._sweep is None  # the next notification that goes elsewhere sweeps again
    finally:
        await queue.close()


async def test_a_designated_notification_wakes_at_once_and_schedules_no_sweep() -> None:
    queue, listener = routed_queue(designated=True)
    try:
        listener._dispatch(WORK_CHANNEL, json.dumps({"execution_id": others_id()}))

        assert listener.work_available.is_set()
        assert queue._sweep is None
    finally:
        await queue.close()


async def test_closing_the_queue_cancels_a_pending_sweep() -> None:
    queue, listener = routed_queue(designated=False)
    listener._dispatch(WORK_CHANNEL, json.dumps({"execution_id": others_id()}))
    pending = queue._sweep
    assert pending is not None

    await queue.close()

    assert pending.cancelled()


async def test_a_queue_without_a_router_wakes_on_every_notification() -> None:
    listener = PostgresListener(NOWHERE, (WORK_CHANNEL,))
    queue = PostgresWorkQueue(DirectConnection(NOWHERE), SystemClock(), listener)
    try:
        listener._dispatch(WORK_CHANNEL, json.dumps({"execution_id": others_id()}))

        assert listener.on_work is None
        assert listener.work_available.is_set()
        assert await queue.wait_for_work(0)
    finally:
        await queue.close()


# ---- Leases of workers that are gone -------------------------------------------------------


async def running_execution(worker: PostgresAdapters) -> str:
    """A running execution nobody holds, in a workflow of its own."""
    now = worker.clock.now()
    flow = await add_workflow(worker.uow_factory, now, name=new_id("flow"))
    return (await add_execution(worker.uow_factory, flow.id, now, status=S.RUNNING)).id


async def claimed(worker: PostgresAdapters, execution_id: str) -> None:
    leases = await worker.queue.claim("claimer", 100, timedelta(seconds=60))
    assert execution_id in {lease.execution_id for lease in leases}


async def lease_member(admin: Admin, execution_id: str) -> object:
    cursor = await admin.execute(
        "SELECT lease_member FROM executions WHERE id = %s", (execution_id,)
    )
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def test_a_members_leases_record_its_slot_and_a_non_members_record_none(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as worker, started(database_url, runs_worker=False) as api:
        mine = await running_execution(worker)
        await claimed(worker, mine)
        theirs = await running_execution(worker)
        await claimed(api, theirs)

        assert await lease_member(admin, mine) == router_of(worker).slot
        assert await lease_member(admin, theirs) is None


async def test_the_leases_of_a_member_that_ended_are_expired_and_announced(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as staying:
        heard: list[object] = []
        staying.listener.subscribe(lambda channel, payload: heard.append(payload))
        async with started(database_url) as departing:
            execution_id = await running_execution(departing)
            await claimed(departing, execution_id)
            assert execution_id not in await staying.queue.expire_orphaned_leases()

        async def expired() -> bool:
            return execution_id in await staying.queue.expire_orphaned_leases()

        async def announced() -> bool:
            # Announced with its queue, so that only the workers serving it wake.
            return {"execution_id": execution_id, "queue": "default"} in heard

        await eventually(expired, "the departed member's lease to expire")
        await eventually(announced, "the freed execution to be announced")
        await claimed(staying, execution_id)


async def test_a_lease_taken_by_a_process_that_is_no_member_is_never_orphaned(
    database_url: str, admin: Admin
) -> None:
    async with started(database_url) as worker:
        async with started(database_url, runs_worker=False) as api:
            execution_id = await running_execution(api)
            await claimed(api, execution_id)

        await members_become(admin, {router_of(worker).slot})

        assert execution_id not in await worker.queue.expire_orphaned_leases()
        leases = await worker.queue.claim("claimer", 100, timedelta(seconds=60))
        assert execution_id not in {lease.execution_id for lease in leases}
