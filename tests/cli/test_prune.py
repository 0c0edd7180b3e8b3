"""`treadle prune`: finished executions older than the cutoff go, with their rows; nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.clock import FakeClock
from adapters.memory.maintenance import InMemoryExecutionPruner
from adapters.memory.store import InMemoryStore
from adapters.postgres.urls import libpq_conninfo
from application.input_errors import InvalidInput
from application.use_cases.prune import PruneExecutions, PruneExecutionsHandler, PruneProgress
from domain.execution import Execution, ParentLink
from domain.node_run import NodeRun
from domain.status import ExecutionStatus
from tests.cli.conftest import Cli
from tests.cli.workflow_files import VALID_YAML, WAITING_JSON


def _count(conn: psycopg.Connection, table: str, execution_ids: list[str]) -> int:
    column = "id" if table == "executions" else "execution_id"
    query = f"SELECT count(*) FROM {table} WHERE {column} = ANY(%s)"
    row = conn.execute(query, (execution_ids,)).fetchone()
    assert row is not None
    return int(row[0])


def _run_to_the_end(cli: Cli, workspace: str) -> str:
    result = cli("run", "greeter", "--input", '{"name": "x"}', "--watch", "-w", workspace)
    assert result.exit_code == 0, result.output
    return result.stdout.split("started execution ")[1].split()[0]


@pytest.mark.e2e
@pytest.mark.usefixtures("worker_process")
def test_prune_deletes_old_finished_executions_only(
    cli: Cli, cli_database_url: str, tmp_path: Path
) -> None:
    workspace = f"prune-{uuid.uuid4().hex[:8]}"
    (tmp_path / "greeter.yaml").write_text(VALID_YAML.format(name="greeter"))
    (tmp_path / "approval.json").write_text(WAITING_JSON)
    for name in ("greeter.yaml", "approval.json"):
        assert cli("workflows", "apply", str(tmp_path / name), "-w", workspace).exit_code == 0
    old = [_run_to_the_end(cli, workspace) for _ in range(3)]
    recent = _run_to_the_end(cli, workspace)
    waiting = cli("run", "approval", "-w", workspace).stdout.strip()
    with psycopg.connect(libpq_conninfo(cli_database_url), autocommit=True) as conn:
        conn.execute(
            "UPDATE executions SET finished_at = now() - interval '40 days',"
            " created_at = now() - interval '41 days' WHERE id = ANY(%s)",
            (old,),
        )
        conn.execute(
            "UPDATE executions SET created_at = now() - interval '41 days' WHERE id = %s",
            (waiting,),
        )

        result = cli("prune", "--older-than", "30d", "--batch-size", "2")

        assert result.exit_code == 0, result.output
        assert "deleted 3 executions older than 30d" in result.stdout
        for table in ("executions", "node_runs", "events"):
            assert _count(conn, table, old) == 0, table
        assert _count(conn, "executions", [recent, waiting]) == 2
        assert _count(conn, "node_runs", [recent]) == 2
    again = cli("prune", "--older-than", "30d")
    assert "deleted 0 executions" in again.stdout


def _execution(
    status: ExecutionStatus, finished_at: datetime | None, parent: str | None = None
) -> Execution:
    return Execution(
        id=f"ex_{uuid.uuid4().hex[:12]}",
        workspace_id="ws",
        workflow_id="wf",
        version=1,
        status=status,
        input=None,
        created_at=datetime(2029, 1, 1, tzinfo=UTC),
        finished_at=finished_at,
        parent=ParentLink(parent, "call") if parent else None,
    )


async def test_the_memory_pruner_keeps_active_families_and_recent_runs() -> None:
    clock = FakeClock()
    long_ago = clock.now() - timedelta(days=60)
    store = InMemoryStore(clock=clock)
    prunable = _execution(ExecutionStatus.FAILED, long_ago)
    recent = _execution(ExecutionStatus.COMPLETED, clock.now() - timedelta(days=1))
    running = _execution(ExecutionStatus.RUNNING, None)
    parent_of_running = _execution(ExecutionStatus.CANCELLED, long_ago)
    running_child = _execution(ExecutionStatus.WAITING, None, parent=parent_of_running.id)
    for execution in (prunable, recent, running, parent_of_running, running_child):
        store.executions[execution.id] = execution
        store.node_runs[execution.id] = {"a": NodeRun("a")}
    handler = PruneExecutionsHandler(InMemoryExecutionPruner(store), clock)

    steps = [step async for step in handler(PruneExecutions(timedelta(days=30)))]

    assert steps == [PruneProgress(total=1, deleted=0), PruneProgress(total=1, deleted=1)]
    assert set(store.executions) == {
        recent.id,
        running.id,
        parent_of_running.id,
        running_child.id,
    }
    assert prunable.id not in store.node_runs


async def test_a_non_positive_age_is_refused() -> None:
    clock = FakeClock()
    handler = PruneExecutionsHandler(InMemoryExecutionPruner(InMemoryStore(clock=clock)), clock)

    with pytest.raises(InvalidInput, match="positive"):
        [step async for step in handler(PruneExecutions(timedelta(0)))]
