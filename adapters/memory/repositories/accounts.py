"""Workspaces, API tokens and secrets, in memory."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.memory.repositories.base import Repo
from application.errors import Conflict
from application.records import ApiToken, StoredSecret, Workspace


class MemoryWorkspaces(Repo):
    async def add(self, workspace: Workspace) -> None:
        if await self.get_by_name(workspace.name) is not None:
            raise Conflict(f"a workspace named {workspace.name!r} already exists")
        self.journal.set(self.store.workspaces, workspace.id, workspace)

    async def get(self, workspace_id: str) -> Workspace | None:
        return self.store.workspaces.get(workspace_id)

    async def get_by_name(self, name: str) -> Workspace | None:
        return next((w for w in self.store.workspaces.values() if w.name == name), None)


class MemoryTokens(Repo):
    async def add(self, token: ApiToken) -> None:
        self.journal.set(self.store.tokens, token.id, token)

    async def find_by_hash(self, token_hash: str) -> ApiToken | None:
        return next((t for t in self.store.tokens.values() if t.token_hash == token_hash), None)

    async def get(self, workspace_id: str, token_id: str) -> ApiToken | None:
        found = self.store.tokens.get(token_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    async def search(self, workspace_id: str) -> list[ApiToken]:
        found = [t for t in self.store.tokens.values() if t.workspace_id == workspace_id]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    async def save(self, token: ApiToken) -> None:
        self.journal.set(self.store.tokens, token.id, token)


class MemorySecrets(Repo):
    async def put(self, secret: StoredSecret) -> None:
        self.journal.set(self.store.secrets, (secret.workspace_id, secret.name), secret)

    async def get_many(self, workspace_id: str, names: Sequence[str]) -> list[StoredSecret]:
        found = (self.store.secrets.get((workspace_id, name)) for name in names)
        return [secret for secret in found if secret is not None]

    async def search(self, workspace_id: str) -> list[StoredSecret]:
        found = [s for (ws, _), s in self.store.secrets.items() if ws == workspace_id]
        return sorted(found, key=lambda s: s.name)

    async def delete(self, workspace_id: str, name: str) -> bool:
        existed = (workspace_id, name) in self.store.secrets
        self.journal.delete(self.store.secrets, (workspace_id, name))
        return existed
