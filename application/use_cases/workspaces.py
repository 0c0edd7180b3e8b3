"""Workspaces: the unit of isolation every token, workflow and secret belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import Conflict
from application.ids import new_id
from application.input_errors import InvalidInput
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import Workspace


@dataclass(frozen=True)
class EnsureWorkspace:
    name: str


class EnsureWorkspaceHandler:
    """The workspace of that name, created if it does not exist yet."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: EnsureWorkspace) -> Workspace:
        name = command.name.strip()
        if not name:
            raise InvalidInput("workspace", "a workspace name must not be empty")
        try:
            return await self._get_or_add(name)
        except Conflict:
            # Someone created it between our read and our insert: theirs is the one.
            return await self._get_or_add(name)

    async def _get_or_add(self, name: str) -> Workspace:
        async with self._uow() as uow:
            found = await uow.workspaces.get_by_name(name)
            if found is not None:
                return found
            workspace = Workspace(new_id("ws"), name, self._clock.now())
            await uow.workspaces.add(workspace)
            await uow.commit()
        return workspace
