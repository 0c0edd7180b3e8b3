"""Records for contract tests, and the few writes most tests start from."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from application.ids import new_id
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Workflow, WorkflowVersion
from domain.execution import Execution
from domain.status import ExecutionStatus

WORKSPACE = "ws_contract"
NODES = ("first", "second", "third")
DOCUMENT: dict[str, Any] = {"nodes": [{"id": n, "kind": "noop"} for n in NODES], "edges": []}


def workflow(now: datetime, name: str = "orders", workspace_id: str = WORKSPACE) -> Workflow:
    return Workflow(new_id("wf"), workspace_id, name, 1, now, now, description="d")


def version(workflow_id: str, number: int, now: datetime) -> WorkflowVersion:
    return WorkflowVersion(workflow_id, number, {**DOCUMENT, "number": number}, now)


def execution(workflow_id: str, now: datetime, **changes: Any) -> Execution:
    base = Execution(
        id=new_id("ex"),
        workspace_id=WORKSPACE,
        workflow_id=workflow_id,
        version=1,
        status=ExecutionStatus.PENDING,
        input={"n": 1},
        created_at=now,
        seq=1,
    )
    return replace(base, **changes)


async def add_workflow(uow: UnitOfWorkFactory, now: datetime, name: str = "orders") -> Workflow:
    found = workflow(now, name)
    async with uow() as tx:
        await tx.workflows.add(found, version(found.id, 1, now))
        await tx.commit()
    return found


async def add_execution(
    uow: UnitOfWorkFactory, workflow_id: str, now: datetime, **changes: Any
) -> Execution:
    added = execution(workflow_id, now, **changes)
    async with uow() as tx:
        await tx.executions.add(added, NODES)
        await tx.commit()
    return added


async def get_execution(uow: UnitOfWorkFactory, execution_id: str) -> Execution | None:
    async with uow() as tx:
        return await tx.executions.get(execution_id)


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass (for cross-connection news)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True
