"""Workspaces, their API tokens and their encrypted secrets."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from adapters.postgres import catalog_mappers
from adapters.postgres.database import Db
from adapters.postgres.tables import api_tokens, secrets, workspaces
from application.errors import Conflict
from application.records import ApiToken, StoredSecret, Workspace


class PostgresWorkspaces:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, workspace: Workspace) -> None:
        statement = (
            insert(workspaces)
            .values(catalog_mappers.workspace_to_row(workspace))
            .on_conflict_do_nothing()
            .returning(workspaces.c.id)
        )
        if await self._db.count(statement) != 1:
            raise Conflict(f"a workspace named {workspace.name!r} already exists")

    async def get(self, workspace_id: str) -> Workspace | None:
        row = await self._db.first(select(workspaces).where(workspaces.c.id == workspace_id))
        return catalog_mappers.row_to_workspace(row) if row else None

    async def get_by_name(self, name: str) -> Workspace | None:
        row = await self._db.first(select(workspaces).where(workspaces.c.name == name))
        return catalog_mappers.row_to_workspace(row) if row else None


class PostgresTokens:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, token: ApiToken) -> None:
        await self._db.execute(insert(api_tokens).values(catalog_mappers.token_to_row(token)))

    async def find_by_hash(self, token_hash: str) -> ApiToken | None:
        statement = select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        row = await self._db.first(statement)
        return catalog_mappers.row_to_token(row) if row else None

    async def get(self, workspace_id: str, token_id: str) -> ApiToken | None:
        statement = select(api_tokens).where(
            api_tokens.c.workspace_id == workspace_id, api_tokens.c.id == token_id
        )
        row = await self._db.first(statement)
        return catalog_mappers.row_to_token(row) if row else None

    async def search(self, workspace_id: str) -> list[ApiToken]:
        statement = (
            select(api_tokens)
            .where(api_tokens.c.workspace_id == workspace_id)
            .order_by(api_tokens.c.created_at, api_tokens.c.id)
        )
        return [catalog_mappers.row_to_token(row) for row in await self._db.rows(statement)]

    async def save(self, token: ApiToken) -> None:
        row = catalog_mappers.token_to_row(token)
        statement = insert(api_tokens).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["id"], set_={k: statement.excluded[k] for k in row if k != "id"}
        )
        await self._db.execute(statement)


class PostgresSecrets:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def put(self, secret: StoredSecret) -> None:
        row = catalog_mappers.secret_to_row(secret)
        statement = insert(secrets).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["workspace_id", "name"],
            set_={
                "ciphertext": statement.excluded.ciphertext,
                "created_at": statement.excluded.created_at,
                "updated_at": statement.excluded.updated_at,
            },
        )
        await self._db.execute(statement)

    async def get_many(self, workspace_id: str, names: Sequence[str]) -> list[StoredSecret]:
        if not names:
            return []
        statement = select(secrets).where(
            secrets.c.workspace_id == workspace_id, secrets.c.name.in_(list(names))
        )
        found = {
            row["name"]: catalog_mappers.row_to_secret(row)
            for row in await self._db.rows(statement)
        }
        return [found[name] for name in names if name in found]

    async def search(self, workspace_id: str) -> list[StoredSecret]:
        statement = (
            select(secrets)
            .where(secrets.c.workspace_id == workspace_id)
            .order_by(secrets.c.name.collate("C"))
        )
        return [catalog_mappers.row_to_secret(row) for row in await self._db.rows(statement)]

    async def delete(self, workspace_id: str, name: str) -> bool:
        statement = (
            delete(secrets)
            .where(secrets.c.workspace_id == workspace_id, secrets.c.name == name)
            .returning(secrets.c.name)
        )
        return await self._db.count(statement) > 0
