"""Reading executions: lists, one execution with its node runs, its events and signals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.errors import NotFound
from application.input_errors import InvalidCursor
from application.ports.unit_of_work import (
    ChildPosition,
    UnitOfWork,
    UnitOfWorkFactory,
    child_position,
)
from application.queries.pagination import Page, decode_cursor, encode_cursor
from application.queries.workflows import owned_workflow
from application.records import Signal, StoredEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import ExecutionStatus

_CURSOR = "executions"
_CHILD_CURSOR = "children"


@dataclass(frozen=True)
class ExecutionFilter:
    workflow_id: str | None = None
    statuses: Sequence[ExecutionStatus] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    parent_execution_id: str | None = None
    """Only that execution's children (sub-workflows and `for_each` items), listed by
    node, then item index, then oldest first, instead of newest first."""


@dataclass(frozen=True)
class ExecutionDetail:
    execution: Execution
    node_runs: list[NodeRun]
    """In the order the definition lists its nodes."""


@dataclass(frozen=True)
class EventPage:
    events: list[StoredEvent]
    next_after: int | None
    """The `after` that reads the next page; None when this page reached the end."""


async def owned_execution(uow: UnitOfWork, workspace_id: str, execution_id: str) -> Execution:
    found = await uow.executions.get(execution_id)
    if found is None or found.workspace_id != workspace_id:
        raise NotFound(f"no execution {execution_id} in this workspace")
    return found


def _position(cursor: str) -> tuple[datetime, str]:
    position = decode_cursor(_CURSOR, cursor)
    try:
        return datetime.fromisoformat(str(position["t"])), str(position["id"])
    except (KeyError, ValueError):
        raise InvalidCursor() from None


def _child_position(cursor: str) -> ChildPosition:
    position = decode_cursor(_CHILD_CURSOR, cursor)
    try:
        node_id, index = position["n"], position["i"]
        created_at = datetime.fromisoformat(str(position["t"]))
        execution_id = str(position["id"])
    except (KeyError, ValueError):
        raise InvalidCursor() from None
    if not isinstance(node_id, str) or type(index) is not int or created_at.tzinfo is None:
        raise InvalidCursor()
    return ChildPosition(node_id, index, created_at, execution_id)


def _next_cursor(last: Execution, children: bool) -> str:
    if not children:
        return encode_cursor(_CURSOR, {"t": last.created_at.isoformat(), "id": last.id})
    at = child_position(last)
    position = {"n": at.node_id, "i": at.item_index, "t": at.created_at.isoformat(), "id": at.id}
    return encode_cursor(_CHILD_CURSOR, position)


class ExecutionQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def page(
        self, workspace_id: str, where: ExecutionFilter, *, limit: int = 50, cursor: str | None
    ) -> Page[Execution]:
        """Newest first, by keyset: a cursor holds the (created_at, id) of the last row.
        The children of one execution come in `ChildPosition` order, keyset on it too."""
        children = where.parent_execution_id is not None
        before = (where.created_before, "") if where.created_before is not None else None
        after_child = None
        if cursor and children:
            after_child = _child_position(cursor)
        elif cursor:
            before = _position(cursor)
        async with self._uow() as uow:
            if where.workflow_id is not None:
                await owned_workflow(uow, workspace_id, where.workflow_id)
            if where.parent_execution_id is not None:
                await owned_execution(uow, workspace_id, where.parent_execution_id)
            rows = await uow.executions.search(
                workspace_id,
                workflow_id=where.workflow_id,
                statuses=where.statuses,
                parent_execution_id=where.parent_execution_id,
                created_after=where.created_after,
                limit=limit + 1,
                before=before,
                after_child=after_child,
            )
        page = rows[:limit]
        more = len(rows) > limit and bool(page)
        return Page(page, _next_cursor(page[-1], children) if more else None)

    async def get(self, workspace_id: str, execution_id: str) -> ExecutionDetail:
        async with self._uow() as uow:
            execution = await owned_execution(uow, workspace_id, execution_id)
            runs = await uow.node_runs.get_all(execution.id)
            version = await uow.workflows.get_version(execution.workflow_id, execution.version)
        order = _node_order(version.document if version else {})
        ranked = sorted(
            runs.values(), key=lambda run: (order.get(run.node_id, len(order)), run.node_id)
        )
        return ExecutionDetail(execution, ranked)

    async def events(
        self, workspace_id: str, execution_id: str, *, after: int = 0, limit: int = 100
    ) -> EventPage:
        async with self._uow() as uow:
            await owned_execution(uow, workspace_id, execution_id)
            rows = await uow.events.search(execution_id, after_seq=after, limit=limit + 1)
        page = rows[:limit]
        return EventPage(page, page[-1].seq if len(rows) > limit else None)

    async def signals(self, workspace_id: str, execution_id: str) -> list[Signal]:
        async with self._uow() as uow:
            await owned_execution(uow, workspace_id, execution_id)
            return await uow.signals.search(execution_id)

    async def status(self, workspace_id: str, execution_id: str) -> Execution:
        async with self._uow() as uow:
            return await owned_execution(uow, workspace_id, execution_id)


def _node_order(document: dict[str, Any]) -> dict[str, int]:
    nodes = document.get("nodes", [])
    return {
        str(node.get("id")): index for index, node in enumerate(nodes) if isinstance(node, dict)
    }
