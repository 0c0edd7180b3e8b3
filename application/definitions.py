"""Parsed workflow definitions by (workflow, version): versions are immutable, so cache them."""

from __future__ import annotations

from application.errors import NotFound
from application.ports.unit_of_work import UnitOfWork
from domain.definition import WorkflowDefinition
from domain.validation import parse_definition


class DefinitionCache:
    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._cache: dict[tuple[str, int], WorkflowDefinition] = {}

    def cached(self, workflow_id: str, version: int) -> WorkflowDefinition | None:
        """The definition if this process has already loaded it, without a look-up."""
        return self._cache.get((workflow_id, version))

    async def load(self, uow: UnitOfWork, workflow_id: str, version: int) -> WorkflowDefinition:
        key = (workflow_id, version)
        found = self._cache.get(key)
        if found is not None:
            return found
        stored = await uow.workflows.get_version(workflow_id, version)
        if stored is None:
            raise NotFound(f"workflow {workflow_id} has no version {version}")
        definition = parse_definition(stored.document)
        if len(self._cache) >= self._capacity:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = definition
        return definition
