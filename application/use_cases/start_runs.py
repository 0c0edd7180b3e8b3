"""Start many runs of one workflow at once (bulk runs): all of them, or none.

Each run is what a single `StartRun` asks for, built the same way (`new_run`), and the
batch is stored in one transaction by the `RunInserts` port, with the same check that the
workflow is current. The answer lists the executions in the order the runs were given.

Idempotency keys: a key the workflow already has answers that execution, not created. A
key repeated within one request is one run: its first position makes the execution, and
later positions answer the same execution, not created (as a second request with the key
would); their other fields are not looked at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from application.audit import SYSTEM, Actor, AuditAction, AuditEntry, audit_entry
from application.definitions import DefinitionCache
from application.document_limits import MAX_RUNS
from application.errors import Conflict, NotFound
from application.input_errors import InvalidInput
from application.ports.clock import Clock
from application.ports.run_inserts import KeyedRun, RunInserts
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Workflow
from application.use_cases.start_run import RunStarted, StartRun, new_run
from domain.definition import WorkflowDefinition

ATTEMPTS = 3
"""Tries when the workflow changes, or a key is taken, between the look-up and the insert."""


@dataclass(frozen=True)
class StartRuns:
    """Runs of one workflow, each as a single run would ask for it (their `workspace_id`
    and `workflow_id` are this command's)."""

    workspace_id: str
    workflow_id: str
    runs: Sequence[StartRun]
    actor: Actor = SYSTEM
    """Who asks for the runs: one audit entry for the request (see `runs_started`)."""


def runs_started(command: StartRuns, at: datetime) -> AuditEntry:
    """The audit entry of a bulk start, on its workflow; the store adds the count and ids
    of the executions it made (never the runs' input)."""
    return audit_entry(
        command.workspace_id,
        at,
        command.actor,
        AuditAction.RUNS_STARTED,
        command.workflow_id,
        {"requested": len(command.runs)},
    )


def check_size(count: int) -> None:
    """InvalidInput unless a request of `count` runs is one this use case takes."""
    if count == 0:
        raise InvalidInput("runs", "give at least one run")
    if count > MAX_RUNS:
        raise InvalidInput(
            "runs",
            f"at most {MAX_RUNS:,} runs a request, not {count:,}: send the rest in another request",
        )


class StartRunsHandler:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        definitions: DefinitionCache,
        inserts: RunInserts,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._definitions = definitions
        self._inserts = inserts

    async def __call__(self, command: StartRuns) -> list[RunStarted]:
        """The executions in the order of `command.runs`; NotFound for a workflow (or a
        version) that is missing or archived, as for a single run."""
        check_size(len(command.runs))
        for run in command.runs:
            if (run.workspace_id, run.workflow_id) != (command.workspace_id, command.workflow_id):
                raise ValueError("every run of a batch is of the batch's workflow")
        for _ in range(ATTEMPTS):
            workflow, definitions = await self._look_up(command)
            answering, batch = self._batch(command, workflow, definitions)
            try:
                audit = runs_started(command, self._clock.now())
                stored = await self._inserts.insert_all_if_current(batch, audit)
            except Conflict:
                continue  # a concurrent request took a key first: the next try finds it
            if stored is None:
                continue  # a new version or an archive came in between: look again
            return [
                RunStarted(stored[at].execution, stored[at].created and made)
                for at, made in answering
            ]
        raise Conflict(
            "the workflow changed, or a concurrent request took these runs' idempotency keys,"
            " while they were being started: send the request again"
        )

    async def _look_up(self, command: StartRuns) -> tuple[Workflow, dict[int, WorkflowDefinition]]:
        """The workflow and the definition of every version the runs ask for."""
        async with self._uow() as uow:
            workflow = await uow.workflows.get(command.workspace_id, command.workflow_id)
            if workflow is None or workflow.archived:
                raise NotFound(f"no workflow {command.workflow_id} in this workspace")
            definitions: dict[int, WorkflowDefinition] = {}
            for index, run in enumerate(command.runs):
                version = run.version or workflow.latest_version
                if version > workflow.latest_version:
                    raise NotFound(
                        f"workflow {workflow.id} has no version {version} (runs[{index}])"
                    )
                if version not in definitions:
                    definitions[version] = await self._definitions.load(uow, workflow.id, version)
        return workflow, definitions

    def _batch(
        self,
        command: StartRuns,
        workflow: Workflow,
        definitions: dict[int, WorkflowDefinition],
    ) -> tuple[list[tuple[int, bool]], list[KeyedRun]]:
        """The runs to store (one per key); and for each position of the request, the index
        in that batch of the run that answers it, and whether this position made it."""
        now = self._clock.now()
        batch: list[KeyedRun] = []
        by_key: dict[str, int] = {}
        answering: list[tuple[int, bool]] = []
        for run in command.runs:
            key = run.idempotency_key
            if key is not None and key in by_key:
                answering.append((by_key[key], False))
                continue
            if key is not None:
                by_key[key] = len(batch)
            answering.append((len(batch), True))
            version = run.version or workflow.latest_version
            built = new_run(run, workflow, version, definitions[version], now)
            batch.append(KeyedRun(built, key))
        return answering, batch
