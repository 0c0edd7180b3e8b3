"""Fetching the facts of a batch of steps: one read per kind, inside the batch's transaction.

Signals, children and secrets are read for every member at once; the workflows that
`sub_workflow` nodes start are read through the definition cache. Secrets are read through
the same unit of work as the rest of the step and decrypted here, so a step never opens a
second transaction while the batch's locks are held.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from application.definitions import DefinitionCache
from application.engine.facts import (
    ITEMS_WINDOW,
    SIGNALS_PER_NAME,
    ChildOutcome,
    ChildWorkflow,
    Facts,
    Needs,
    WorkflowKey,
)
from application.errors import NotFound
from application.ports.encryptor import Encryptor
from application.ports.unit_of_work import ItemChild, ItemProgress, ItemsAt, UnitOfWork
from application.records import Signal
from domain.execution import Execution


@dataclass(frozen=True)
class Asked:
    """One member's needs: whose they are and in which workspace."""

    execution: Execution
    needs: Needs


@dataclass
class BatchFacts:
    """What was fetched for a batch, sliced per member by `facts_for`."""

    signals: dict[str, dict[str, list[Signal]]] = field(default_factory=dict)
    children: dict[str, ChildOutcome | None] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    workflows: dict[tuple[str, WorkflowKey], ChildWorkflow | None] = field(default_factory=dict)
    items: dict[ItemsAt, ItemProgress] = field(default_factory=dict)
    outcomes: dict[ItemsAt, list[ItemChild]] = field(default_factory=dict)
    looked_up: dict[str, Needs] = field(default_factory=dict)

    def facts_for(
        self,
        execution: Execution,
        now: datetime,
        rng: Callable[[], float],
        new_id: Callable[[str], str],
    ) -> Facts:
        workspace = execution.workspace_id
        looked_up = self.looked_up.get(execution.id, Needs())
        return Facts(
            now=now,
            rng=rng,
            new_id=new_id,
            signals=self.signals.get(execution.id, {}),
            children=self.children,
            secrets=self.secrets.get(workspace, {}),
            looked_up=looked_up,
            workflows={
                key: found for (ws, key), found in self.workflows.items() if ws == workspace
            },
            items=self.items,
            outcomes=self.outcomes,
        )


class FactFetcher:
    """Reads what a batch of steps needs, one query per kind."""

    def __init__(self, definitions: DefinitionCache, decryptor: Encryptor | None) -> None:
        self._definitions = definitions
        self._decryptor = decryptor

    async def fetch(
        self, uow: UnitOfWork, asked: Sequence[Asked], into: BatchFacts | None = None
    ) -> BatchFacts:
        facts = into or BatchFacts()
        wanted = [one for one in asked if not one.needs.empty]
        for one in wanted:
            known = facts.looked_up.get(one.execution.id, Needs())
            facts.looked_up[one.execution.id] = known | one.needs
        if not wanted:
            return facts
        await self._signals(uow, wanted, facts)
        await self._children(uow, wanted, facts)
        await self._secrets(uow, wanted, facts)
        await self._workflows(uow, wanted, facts)
        await self._items(uow, wanted, facts)
        return facts

    @staticmethod
    async def _signals(uow: UnitOfWork, asked: Sequence[Asked], facts: BatchFacts) -> None:
        names = {one.execution.id: one.needs.signals for one in asked if one.needs.signals}
        if not names:
            return
        found = await uow.signals.unconsumed(names, SIGNALS_PER_NAME)
        for execution_id, by_name in found.items():
            facts.signals.setdefault(execution_id, {}).update(by_name)

    @staticmethod
    async def _children(uow: UnitOfWork, asked: Sequence[Asked], facts: BatchFacts) -> None:
        ids = sorted({child for one in asked for child in one.needs.children})
        if not ids:
            return
        found = await uow.executions.get_many(ids)
        for child_id in ids:
            child = found.get(child_id)
            facts.children[child_id] = (
                ChildOutcome(child.status, child.output, child.error) if child else None
            )

    @staticmethod
    async def _items(uow: UnitOfWork, asked: Sequence[Asked], facts: BatchFacts) -> None:
        wanted = sorted({at for one in asked for at in one.needs.items}, key=str)
        if wanted:
            facts.items.update(await uow.executions.item_progress(wanted, ITEMS_WINDOW))
        for at in sorted({at for one in asked for at in one.needs.outcomes}, key=str):
            facts.outcomes[at] = await uow.executions.item_outcomes(at.execution_id, at.node_id)

    async def _secrets(self, uow: UnitOfWork, asked: Sequence[Asked], facts: BatchFacts) -> None:
        by_workspace: dict[str, set[str]] = defaultdict(set)
        for one in asked:
            by_workspace[one.execution.workspace_id] |= one.needs.secrets
        for workspace, names in by_workspace.items():
            if not names or self._decryptor is None:
                continue
            stored = await uow.secrets.get_many(workspace, sorted(names))
            values = facts.secrets.setdefault(workspace, {})
            for secret in stored:
                values[secret.name] = self._decryptor.decrypt(secret.ciphertext)

    async def _workflows(self, uow: UnitOfWork, asked: Sequence[Asked], facts: BatchFacts) -> None:
        keys = {(one.execution.workspace_id, key) for one in asked for key in one.needs.workflows}
        for workspace, key in sorted(keys, key=str):
            if (workspace, key) not in facts.workflows:
                facts.workflows[(workspace, key)] = await self._workflow(uow, workspace, key)

    async def _workflow(
        self, uow: UnitOfWork, workspace: str, key: WorkflowKey
    ) -> ChildWorkflow | None:
        reference, version = key
        # A node names its workflow by id or, portably across installations, by name.
        workflow = await uow.workflows.get(workspace, reference)
        if workflow is None:
            workflow = await uow.workflows.get_by_name(workspace, reference)
        if workflow is None or workflow.archived:
            return None
        chosen = version or workflow.latest_version
        try:
            definition = await self._definitions.load(uow, workflow.id, chosen)
        except NotFound:
            return None
        return ChildWorkflow(workflow, chosen, definition)
