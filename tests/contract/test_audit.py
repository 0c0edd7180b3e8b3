"""The audit log on both adapters: entries added with a change, listed newest first by
(time, id) with filters and keyset pages, and added by run inserts only with their run."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from application.audit import (
    Actor,
    AuditAction,
    AuditEntry,
    AuditFilter,
    audit_entry,
)
from application.ports.run_inserts import KeyedRun
from tests.contract.builders import WORKSPACE, add_workflow
from tests.contract.conftest import Backend
from tests.contract.test_run_inserts import new_run

EDITOR = Actor.token("tok_editor", "editor")
ADMIN = Actor.token("tok_admin", "admin")


def entry(
    at: datetime,
    action: AuditAction = AuditAction.EXECUTION_CANCELLED,
    object_id: str = "ex_1",
    actor: Actor = EDITOR,
    workspace_id: str = WORKSPACE,
) -> AuditEntry:
    return audit_entry(workspace_id, at, actor, action, object_id, {"n": 1})


async def add(backend: Backend, *entries: AuditEntry) -> None:
    async with backend.uow() as uow:
        for one in entries:
            await uow.audit.add(one)
        await uow.commit()


async def search(
    backend: Backend,
    where: AuditFilter | None = None,
    *,
    limit: int = 50,
    before: tuple[datetime, int] | None = None,
    workspace_id: str = WORKSPACE,
) -> list[AuditEntry]:
    async with backend.uow() as uow:
        return await uow.audit.search(
            workspace_id, where or AuditFilter(), limit=limit, before=before
        )


async def test_entries_come_back_newest_first_with_what_was_added(backend: Backend) -> None:
    first = backend.clock.now()
    second = backend.clock.advance(1)
    await add(backend, entry(first, object_id="ex_old"), entry(second, object_id="ex_new"))

    found = await search(backend)

    assert [e.object_id for e in found] == ["ex_new", "ex_old"]
    newest = found[0]
    assert newest.id is not None and found[1].id is not None and newest.id > found[1].id
    assert (newest.at, newest.actor, newest.action) == (second, EDITOR, "execution.cancelled")
    assert (newest.object_type, dict(newest.details)) == ("execution", {"n": 1})


async def test_entries_at_the_same_instant_are_ordered_by_id(backend: Backend) -> None:
    now = backend.clock.now()
    await add(backend, *(entry(now, object_id=f"ex_{n}") for n in range(3)))

    assert [e.object_id for e in await search(backend)] == ["ex_2", "ex_1", "ex_0"]


async def test_filters_narrow_the_entries(backend: Backend) -> None:
    start = backend.clock.now()
    await add(backend, entry(start, AuditAction.WORKFLOW_CREATED, "wf_1", ADMIN))
    middle = backend.clock.advance(10)
    await add(backend, entry(middle, AuditAction.EXECUTION_CANCELLED, "ex_1", EDITOR))
    end = backend.clock.advance(10)
    await add(backend, entry(end, AuditAction.EXECUTION_RETRIED, "ex_1", ADMIN))
    await add(backend, entry(end, workspace_id="ws_other", object_id="ex_1"))

    def ids(found: list[AuditEntry]) -> list[str | None]:
        return [e.action for e in found]

    assert ids(await search(backend, AuditFilter(action="execution.cancelled"))) == [
        "execution.cancelled"
    ]
    assert ids(await search(backend, AuditFilter(object_type="workflow"))) == ["workflow.created"]
    assert ids(await search(backend, AuditFilter(object_id="ex_1"))) == [
        "execution.retried",
        "execution.cancelled",
    ]
    assert ids(await search(backend, AuditFilter(actor_id="tok_admin"))) == [
        "execution.retried",
        "workflow.created",
    ]
    assert ids(await search(backend, AuditFilter(since=middle))) == [
        "execution.retried",
        "execution.cancelled",
    ]
    assert ids(await search(backend, AuditFilter(until=middle))) == ["workflow.created"]
    assert len(await search(backend, workspace_id="ws_other")) == 1
    assert await search(backend, workspace_id="ws_nobody") == []


async def test_keyset_pages_walk_every_entry_once(backend: Backend) -> None:
    now = backend.clock.now()
    await add(backend, *(entry(now, object_id=f"ex_{n}") for n in range(3)))
    later = backend.clock.advance(1)
    await add(backend, *(entry(later, object_id=f"ex_{n}") for n in range(3, 5)))

    seen: list[str | None] = []
    before = None
    while page := await search(backend, limit=2, before=before):
        seen += [e.object_id for e in page]
        last = page[-1]
        assert last.id is not None
        before = (last.at, last.id)

    assert seen == ["ex_4", "ex_3", "ex_2", "ex_1", "ex_0"]


async def test_an_entry_of_a_rolled_back_unit_of_work_is_not_kept(backend: Backend) -> None:
    async with backend.uow() as uow:
        await uow.audit.add(entry(backend.clock.now()))

    assert await search(backend) == []


async def test_a_run_insert_adds_its_entry_only_when_it_stores_the_run(backend: Backend) -> None:
    flow = await add_workflow(backend.uow, backend.clock.now())
    run = new_run(flow, backend)
    started = entry(backend.clock.now(), AuditAction.RUN_STARTED, run.execution.id)
    stale = new_run(replace(flow, latest_version=2), backend)

    assert await backend.run_inserts.insert_if_current(run, started) is True
    assert await backend.run_inserts.insert_if_current(run, started) is True  # sent again
    assert await backend.run_inserts.insert_if_current(stale, started) is False

    found = await search(backend)
    assert [(e.action, e.object_id, e.actor) for e in found] == [
        ("run.started", run.execution.id, EDITOR)
    ]


async def test_a_bulk_insert_adds_one_entry_naming_the_runs_it_stored(backend: Backend) -> None:
    flow = await add_workflow(backend.uow, backend.clock.now())
    runs = [KeyedRun(new_run(flow, backend)) for _ in range(3)]
    bulk = entry(backend.clock.now(), AuditAction.RUNS_STARTED, flow.id)

    stored = await backend.run_inserts.insert_all_if_current(runs, bulk)

    assert stored is not None and all(one.created for one in stored)
    [found] = await search(backend)
    assert (found.action, found.object_type, found.object_id) == (
        "runs.started",
        "workflow",
        flow.id,
    )
    assert found.details["count"] == 3
    assert found.details["execution_ids"] == [k.run.execution.id for k in runs]


async def test_a_bulk_insert_of_a_stale_workflow_adds_no_entry(backend: Backend) -> None:
    flow = await add_workflow(backend.uow, backend.clock.now())
    stale = [KeyedRun(new_run(replace(flow, latest_version=2), backend))]
    bulk = entry(flow.created_at, AuditAction.RUNS_STARTED, flow.id)

    assert await backend.run_inserts.insert_all_if_current(stale, bulk) is None

    assert await search(backend) == []
