"""Retention on each adapter: policies stored per workspace, and a pass that deletes exactly
the finished executions (with their rows) and audit entries past their cutoffs, in batches,
one process at a time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from adapters.clock import FakeClock
from adapters.memory.maintenance import InMemoryExecutionPruner
from adapters.memory.retention import InMemoryRetentionPolicies
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.postgres.maintenance import PostgresExecutionPruner
from adapters.postgres.retention import PostgresRetentionPolicies
from adapters.postgres.setup import create_engine
from adapters.postgres.tables import metadata
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from application.audit import SYSTEM, Actor, AuditEntry, AuditFilter
from application.ports.maintenance import ExecutionPruner, FamilyPosition, PrunedBatch
from application.ports.retention import RetentionPolicies
from application.ports.unit_of_work import UnitOfWorkFactory
from application.retention import AUDIT_KIND, FLOW_KEYS_KIND, RetentionPass, RetentionSettings
from domain.events import DomainEvent, EventType
from domain.execution import Execution, ParentLink
from domain.flow_control import MAX_RATE_PERIOD
from domain.retention import DEFAULT_POLICY, ExpiryCutoffs, RetentionPolicy
from domain.status import ExecutionStatus
from tests.contract.builders import NODES, add_workflow, execution

_TRUNCATE = text(
    "TRUNCATE " + ", ".join(table.name for table in metadata.sorted_tables) + " CASCADE"
)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass
class Retention:
    """One adapter's retention ports, its units of work, and a way to add audit entries."""

    name: str
    clock: FakeClock
    uow: UnitOfWorkFactory
    policies: RetentionPolicies
    pruner: ExecutionPruner
    add_audit: Callable[[str, datetime], Any]
    count_audit: Callable[[str], Any]
    other_pruner: Callable[[], Any]
    """A second process's pruner (its own connections on PostgreSQL)."""


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def retention(request: pytest.FixtureRequest) -> AsyncIterator[Retention]:
    clock = FakeClock()
    if request.param == "memory":
        store = InMemoryStore(clock=clock)
        pruner = InMemoryExecutionPruner(store)

        async def add_memory_audit(workspace_id: str, at: datetime) -> None:
            entry = AuditEntry(workspace_id, at, SYSTEM, "test", "test", None)
            store.audit.append(replace(entry, id=len(store.audit) + 1))

        async def count_memory_audit(workspace_id: str) -> int:
            return sum(1 for entry in store.audit if entry.workspace_id == workspace_id)

        yield Retention(
            "memory",
            clock,
            InMemoryUnitOfWorkFactory(store),
            InMemoryRetentionPolicies(store),
            pruner,
            add_memory_audit,
            count_memory_audit,
            lambda: pruner,
        )
        return
    url: str = request.getfixturevalue("contract_database_url")
    # Engines only: retention needs no LISTEN connection, nor a work queue.
    engine, second = create_engine(url, pool_size=4), create_engine(url, pool_size=2)
    async with engine.begin() as connection:
        await connection.execute(_TRUNCATE)

    async def add_pg_audit(workspace_id: str, at: datetime) -> None:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO audit_log (workspace_id, at, actor_kind, action, object_type)"
                    " VALUES (:workspace, :at, 'system', 'test', 'test')"
                ),
                {"workspace": workspace_id, "at": at},
            )

    async def count_pg_audit(workspace_id: str) -> int:
        async with engine.connect() as connection:
            query = text("SELECT count(*) FROM audit_log WHERE workspace_id = :workspace")
            return int((await connection.execute(query, {"workspace": workspace_id})).scalar_one())

    try:
        yield Retention(
            "postgres",
            clock,
            PostgresUnitOfWorkFactory(engine, clock),
            PostgresRetentionPolicies(engine),
            PostgresExecutionPruner(engine),
            add_pg_audit,
            count_pg_audit,
            lambda: PostgresExecutionPruner(second),
        )
    finally:
        await second.dispose()
        await engine.dispose()


def _workspace() -> str:
    return f"ws_{uuid.uuid4().hex[:8]}"


async def _add(
    retention: Retention,
    workflow_id: str,
    workspace_id: str,
    status: ExecutionStatus,
    *,
    finished_ago: timedelta | None,
    created_ago: timedelta | None = None,
    parent: Execution | None = None,
) -> Execution:
    now = retention.clock.now()
    created_ago = created_ago or (finished_ago or DAY) + HOUR
    added = execution(
        workflow_id,
        now - created_ago,
        workspace_id=workspace_id,
        status=status,
        finished_at=None if finished_ago is None else now - finished_ago,
        parent=None if parent is None else ParentLink(parent.id, "call"),
    )
    async with retention.uow() as tx:
        await tx.executions.add(added, NODES)
        await tx.events.append(added.id, 1, [DomainEvent(EventType.EXECUTION_CREATED)], now)
        await tx.commit()
    return added


async def _surviving(retention: Retention, executions: list[Execution]) -> set[str]:
    async with retention.uow() as tx:
        found = await tx.executions.get_many([e.id for e in executions])
    return set(found)


async def _rows_of(retention: Retention, execution_id: str) -> tuple[int, int]:
    async with retention.uow() as tx:
        runs = await tx.node_runs.get_all(execution_id)
        events = await tx.events.search(execution_id)
    return len(runs), len(events)


async def test_a_workspace_without_a_policy_has_none_stored_and_the_defaults_listed(
    retention: Retention,
) -> None:
    workspace = _workspace()
    flow = await add_workflow(retention.uow, retention.clock.now())
    await _add(retention, flow.id, workspace, ExecutionStatus.COMPLETED, finished_ago=DAY)

    assert await retention.policies.get(workspace) is None
    assert (await retention.policies.list_all())[workspace] == DEFAULT_POLICY


async def test_a_policy_put_is_read_back_and_replaced_by_the_next(retention: Retention) -> None:
    workspace, other = _workspace(), _workspace()
    first = RetentionPolicy(7, 3, 12, 90)
    second = RetentionPolicy(14, 14, None, 400)

    await retention.policies.put(workspace, first, retention.clock.now())
    assert await retention.policies.get(workspace) == first
    await retention.policies.put(workspace, second, retention.clock.now())

    assert await retention.policies.get(workspace) == second
    assert await retention.policies.get(other) is None
    assert (await retention.policies.list_all())[workspace] == second


async def test_a_policy_is_stored_with_its_audit_entry(retention: Retention) -> None:
    workspace = _workspace()
    policy = RetentionPolicy(7, 3, None, 90)
    settings = RetentionSettings(retention.policies, retention.clock)

    await settings.set_policy(workspace, policy, Actor.token("tok_admin", "admin"))

    async with retention.uow() as tx:
        entries = await tx.audit.search(workspace, AuditFilter(action="retention.updated"))
    assert [(e.actor.name, e.object_type, e.object_id) for e in entries] == [
        ("admin", "retention", workspace)
    ]
    assert entries[0].details == {
        "keep_finished_days": 7,
        "keep_failed_days": 3,
        "keep_succeeded_hours": None,
        "keep_audit_days": 90,
    }


async def test_a_pass_deletes_exactly_what_is_past_its_cutoff_for_its_status(
    retention: Retention,
) -> None:
    workspace = _workspace()
    await retention.policies.put(workspace, RetentionPolicy(30, 10, 2, 365), retention.clock.now())
    flow = await add_workflow(retention.uow, retention.clock.now())

    async def add(status: ExecutionStatus, finished_ago: timedelta | None) -> Execution:
        return await _add(
            retention, flow.id, workspace, status, finished_ago=finished_ago, created_ago=60 * DAY
        )

    expired = [
        await add(ExecutionStatus.COMPLETED, 3 * HOUR),
        await add(ExecutionStatus.FAILED, 11 * DAY),
        await add(ExecutionStatus.CANCELLED, 11 * DAY),
        await add(ExecutionStatus.TIMED_OUT, 12 * DAY),
    ]
    kept = [
        await add(ExecutionStatus.COMPLETED, 1 * HOUR),
        await add(ExecutionStatus.FAILED, 9 * DAY),
        await add(ExecutionStatus.CANCELLED, 9 * DAY),
        await add(ExecutionStatus.TIMED_OUT, 9 * DAY),
        await add(ExecutionStatus.RUNNING, None),
        await add(ExecutionStatus.WAITING, None),
        await add(ExecutionStatus.PENDING, None),
    ]
    # Another workspace under the defaults (30 days for all): its 11-day-old failure stays.
    elsewhere = await _add(
        retention, flow.id, _workspace(), ExecutionStatus.FAILED, finished_ago=11 * DAY
    )

    report = await RetentionPass(
        retention.policies, retention.pruner, retention.clock, pause_seconds=0
    ).run()

    assert report is not None
    assert dict(report.deleted) == {"completed": 1, "failed": 1, "cancelled": 1, "timed_out": 1}
    assert await _surviving(retention, expired + kept + [elsewhere]) == {
        e.id for e in [*kept, elsewhere]
    }
    for gone in expired:
        assert await _rows_of(retention, gone.id) == (0, 0)
    assert await _rows_of(retention, kept[0].id) == (len(NODES), 1)


async def test_a_family_goes_together_once_its_top_expires_and_nothing_in_it_runs(
    retention: Retention,
) -> None:
    workspace = _workspace()
    flow = await add_workflow(retention.uow, retention.clock.now())
    old = 40 * DAY

    async def add(
        status: ExecutionStatus, finished_ago: timedelta | None, parent: Execution | None = None
    ) -> Execution:
        return await _add(
            retention,
            flow.id,
            workspace,
            status,
            finished_ago=finished_ago,
            created_ago=old + DAY,
            parent=parent,
        )

    done_parent = await add(ExecutionStatus.COMPLETED, old)
    done_child = await add(ExecutionStatus.FAILED, 5 * DAY, done_parent)  # recent, yet goes
    done_grandchild = await add(ExecutionStatus.COMPLETED, old, done_child)
    busy_parent = await add(ExecutionStatus.CANCELLED, old)
    busy_child = await add(ExecutionStatus.COMPLETED, old, busy_parent)
    busy_grandchild = await add(ExecutionStatus.RUNNING, None, busy_child)
    young_parent = await add(ExecutionStatus.COMPLETED, 2 * DAY)
    old_child = await add(ExecutionStatus.COMPLETED, old, young_parent)  # waits for its parent

    report = await RetentionPass(
        retention.policies, retention.pruner, retention.clock, pause_seconds=0
    ).run()

    assert report is not None
    assert sum(report.deleted.values()) == 3
    everyone = [
        done_parent,
        done_child,
        done_grandchild,
        busy_parent,
        busy_child,
        busy_grandchild,
        young_parent,
        old_child,
    ]
    assert await _surviving(retention, everyone) == {
        e.id for e in [busy_parent, busy_child, busy_grandchild, young_parent, old_child]
    }


async def test_a_pass_deletes_in_batches_of_the_given_size(retention: Retention) -> None:
    workspace = _workspace()
    flow = await add_workflow(retention.uow, retention.clock.now())
    for _ in range(7):
        await _add(retention, flow.id, workspace, ExecutionStatus.COMPLETED, finished_ago=40 * DAY)
    batches: list[int] = []
    inner = retention.pruner

    class CountingPruner:
        """The adapter's pruner, noting how many executions each batch deleted."""

        async def delete_expired(
            self,
            cutoffs: ExpiryCutoffs,
            limit: int,
            workspace_id: str | None = None,
            after: FamilyPosition | None = None,
        ) -> PrunedBatch:
            batch = await inner.delete_expired(cutoffs, limit, workspace_id, after)
            batches.append(sum(batch.deleted.values()))
            return batch

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

    report = await RetentionPass(
        retention.policies, CountingPruner(), retention.clock, batch_size=3, pause_seconds=0
    ).run()

    assert batches == [3, 3, 1]
    assert report is not None and report.deleted["completed"] == 7


async def test_audit_entries_past_their_cutoff_are_deleted_in_batches(
    retention: Retention,
) -> None:
    workspace, other = _workspace(), _workspace()
    now = retention.clock.now()
    await retention.policies.put(workspace, RetentionPolicy(keep_audit_days=7), now)
    for days in (8, 9, 10, 400):
        await retention.add_audit(workspace, now - days * DAY)
    await retention.add_audit(workspace, now - 6 * DAY)
    await retention.add_audit(other, now - 10 * DAY)  # the defaults keep a year
    await retention.add_audit(other, now - 366 * DAY)

    report = await RetentionPass(
        retention.policies, retention.pruner, retention.clock, batch_size=2, pause_seconds=0
    ).run()

    assert report is not None and report.deleted[AUDIT_KIND] == 5
    assert await retention.count_audit(workspace) == 1
    assert await retention.count_audit(other) == 1


async def test_while_one_process_holds_the_maintenance_turn_another_pass_skips(
    retention: Retention,
) -> None:
    workspace = _workspace()
    flow = await add_workflow(retention.uow, retention.clock.now())
    old = await _add(retention, flow.id, workspace, ExecutionStatus.FAILED, finished_ago=40 * DAY)
    other = RetentionPass(
        retention.policies, retention.other_pruner(), retention.clock, pause_seconds=0
    )

    async with retention.pruner.maintenance_turn() as mine:
        assert mine
        assert await other.run() is None
        assert await _surviving(retention, [old]) == {old.id}

    report = await other.run()
    assert report is not None and report.deleted == {"failed": 1}


async def test_families_that_must_wait_do_not_stop_the_pass_reaching_later_ones(
    retention: Retention,
) -> None:
    workspace = _workspace()
    flow = await add_workflow(retention.uow, retention.clock.now())
    old = 40 * DAY
    waiting = []
    for _ in range(4):  # two full batches of tops that cannot go: a grandchild still runs
        top = await _add(retention, flow.id, workspace, ExecutionStatus.COMPLETED, finished_ago=old)
        child = await _add(
            retention, flow.id, workspace, ExecutionStatus.COMPLETED, finished_ago=old, parent=top
        )
        await _add(
            retention, flow.id, workspace, ExecutionStatus.RUNNING, finished_ago=None, parent=child
        )
        waiting.append(top)
    later = [
        await _add(retention, flow.id, workspace, ExecutionStatus.FAILED, finished_ago=old - HOUR)
        for _ in range(3)
    ]

    report = await RetentionPass(
        retention.policies, retention.pruner, retention.clock, batch_size=2, pause_seconds=0
    ).run()

    assert report is not None and report.deleted == {"failed": 3}
    assert await _surviving(retention, waiting + later) == {e.id for e in waiting}


async def test_a_pass_forgets_idle_concurrency_keys_and_ended_rate_windows(
    retention: Retention,
) -> None:
    now = retention.clock.now()
    ended = now - MAX_RATE_PERIOD - 2 * DAY
    async with retention.uow() as tx:
        for key in ("idle-1", "idle-2", "held"):
            await tx.flow.acquire_slot("wf_limited", key, 5)
        await tx.flow.release_slot("wf_limited", "idle-1")
        await tx.flow.release_slot("wf_limited", "idle-2")
        await tx.flow.take_rate("wf_limited", "old", ended, 10)
        await tx.flow.take_rate("wf_limited", "current", now, 10)
        await tx.commit()

    report = await RetentionPass(
        retention.policies, retention.pruner, retention.clock, batch_size=1, pause_seconds=0
    ).run()

    assert report is not None and report.deleted[FLOW_KEYS_KIND] == 3
    async with retention.uow() as tx:
        # The one still held keeps its count; the current window keeps its starts.
        assert await tx.flow.acquire_slot("wf_limited", "held", 1) == (False, 1)
        assert await tx.flow.take_rate("wf_limited", "current", now, 1) is False
        # Forgotten keys behave as new ones.
        assert await tx.flow.acquire_slot("wf_limited", "idle-1", 1) == (True, 1)
        assert await tx.flow.take_rate("wf_limited", "old", now, 1) is True
