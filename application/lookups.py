"""Reading a resource within a workspace: another workspace's id is as missing as a bad one."""

from __future__ import annotations

from application.errors import NotFound
from application.ports.unit_of_work import UnitOfWork
from domain.execution import Execution


async def lock_execution(uow: UnitOfWork, workspace_id: str, execution_id: str) -> Execution:
    """The execution, its row held until the transaction ends; NotFound outside the workspace."""
    execution = await uow.executions.lock(execution_id)
    if execution is None or execution.workspace_id != workspace_id:
        raise NotFound(f"no execution {execution_id} in this workspace")
    return execution
