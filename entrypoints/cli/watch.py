"""A live view of one execution: its nodes and their statuses, until the execution ends.

Every committed change is announced on the events channel (LISTEN/NOTIFY on Postgres);
each announcement for this execution triggers a re-read of its node runs. A re-read
also happens every `fallback_seconds`, so a notification lost to a reconnect never
leaves the view stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from application.errors import NotFound
from domain.execution import Execution
from domain.node_run import NodeRun
from entrypoints.cli.common import console
from entrypoints.cli.views import (
    ExecutionRow,
    ExecutionView,
    NodeRow,
    node_detail,
)

if TYPE_CHECKING:
    from entrypoints.runtime import Runtime

STATUS_STYLES = {
    "pending": "dim",
    "ready": "cyan",
    "running": "bold blue",
    "retrying": "yellow",
    "waiting": "magenta",
    "succeeded": "green",
    "completed": "bold green",
    "failed": "bold red",
    "skipped": "dim",
    "cancelled": "red",
    "timed_out": "red",
}


@dataclass(frozen=True)
class Snapshot:
    """One consistent read of an execution and its node runs."""

    execution: Execution
    nodes: list[tuple[str, str]]
    """(node id, kind) in definition order."""
    runs: dict[str, NodeRun]


async def read_snapshot(runtime: Runtime, execution_id: str) -> Snapshot:
    async with runtime.uow_factory() as uow:
        execution = await uow.executions.get(execution_id)
        if execution is None:
            raise NotFound(f"no execution {execution_id}")
        runs = await uow.node_runs.get_all(execution_id)
        version = await uow.workflows.get_version(execution.workflow_id, execution.version)
    document: dict[str, Any] = version.document if version is not None else {}
    nodes = [(str(node["id"]), str(node.get("kind", ""))) for node in document.get("nodes", [])]
    return Snapshot(execution, nodes or [(node_id, "") for node_id in runs], runs)


def _styled(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def render(view: ExecutionView) -> RenderableType:
    """The live table: the execution's status, then each node's."""
    execution = view.execution
    table = Table("node", "kind", "status", "attempt", "detail", expand=False)
    for node in view.nodes:
        table.add_row(node.node_id, node.kind, _styled(node.status), str(node.attempt), node.detail)
    heading = Text.assemble(("execution ", "bold"), execution.id, " ", _styled(execution.status))
    return Group(heading, table)


def execution_row(execution: Execution) -> ExecutionRow:
    return ExecutionRow(
        id=execution.id,
        workflow_id=execution.workflow_id,
        version=execution.version,
        status=execution.status.value,
        created_at=execution.created_at,
        finished_at=execution.finished_at,
        input=execution.input,
        output=execution.output,
        error=dict(execution.error) if execution.error else None,
        cancel_requested=execution.cancel_requested,
    )


def snapshot_view(snapshot: Snapshot) -> ExecutionView:
    nodes = []
    for node_id, kind in snapshot.nodes:
        run = snapshot.runs.get(node_id, NodeRun(node_id))
        detail = node_detail(run.error, run.status.value, run.waiting_for, run.skip_reason)
        nodes.append(NodeRow(node_id, kind, run.status.value, run.attempt, detail))
    return ExecutionView(execution_row(snapshot.execution), nodes)


async def follow(
    runtime: Runtime,
    execution_id: str,
    on_change: Callable[[Snapshot], None],
    fallback_seconds: float = 1.0,
) -> Execution:
    """Call `on_change` with fresh snapshots until the execution ends; return its last state."""
    changed = asyncio.Event()

    def on_notification(channel: str, payload: Mapping[str, Any]) -> None:
        if payload.get("execution_id") == execution_id:
            changed.set()

    runtime.subscribe(on_notification)
    while True:
        # Clear before reading, so a change that lands during the read triggers another.
        changed.clear()
        snapshot = await read_snapshot(runtime, execution_id)
        on_change(snapshot)
        if snapshot.execution.status.is_terminal:
            return snapshot.execution
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), fallback_seconds)


async def watch_live(runtime: Runtime, execution_id: str) -> Execution:
    """`follow` drawn as a live table in the terminal (the final table stays on screen)."""
    with Live(console=console(), auto_refresh=False, transient=False) as live:

        def draw(snapshot: Snapshot) -> None:
            live.update(render(snapshot_view(snapshot)), refresh=True)

        final = await follow(runtime, execution_id, draw)
    if not sys.stdout.isatty():
        console().line()  # Live leaves its last frame without a line break outside a terminal
    return final
