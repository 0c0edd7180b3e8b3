"""Workflows with their immutable versions, and the schedules that start them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from adapters.postgres import catalog_mappers
from adapters.postgres.database import Db
from adapters.postgres.tables import schedules, workflow_versions, workflows
from application.errors import Conflict
from application.records import Schedule, Workflow, WorkflowVersion

# Names sort by code point, as Python sorts them, whatever the database's locale.
_NAME_ORDER = workflows.c.name.collate("C")
# Read first in every run request: plain SQL to the driver, which also sends the
# transaction's BEGIN in the same round trip (see `Db.fetch`).
_GET_WORKFLOW = (
    "SELECT * FROM workflows WHERE id = %(workflow_id)s AND workspace_id = %(workspace_id)s"
)


class PostgresWorkflows:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, workflow: Workflow, first_version: WorkflowVersion) -> None:
        statement = (
            insert(workflows)
            .values(catalog_mappers.workflow_to_row(workflow))
            .on_conflict_do_nothing()
            .returning(workflows.c.id)
        )
        if await self._db.count(statement) != 1:
            raise Conflict(f"a workflow named {workflow.name!r} already exists")
        await self._db.execute(
            insert(workflow_versions).values(catalog_mappers.version_to_row(first_version))
        )

    async def get(self, workspace_id: str, workflow_id: str) -> Workflow | None:
        params = {"workflow_id": workflow_id, "workspace_id": workspace_id}
        rows = await self._db.fetch(_GET_WORKFLOW, params)
        return catalog_mappers.row_to_workflow(rows[0]) if rows else None

    async def get_by_name(self, workspace_id: str, name: str) -> Workflow | None:
        statement = select(workflows).where(
            workflows.c.workspace_id == workspace_id, workflows.c.name == name
        )
        row = await self._db.first(statement)
        return catalog_mappers.row_to_workflow(row) if row else None

    async def add_version(self, workflow: Workflow, version: WorkflowVersion) -> None:
        statement = (
            insert(workflow_versions)
            .values(catalog_mappers.version_to_row(version))
            .on_conflict_do_nothing()
            .returning(workflow_versions.c.version)
        )
        if await self._db.count(statement) != 1:
            raise Conflict(f"version {version.version} of {workflow.id} already exists")
        await self.save(workflow)

    async def get_version(self, workflow_id: str, version: int) -> WorkflowVersion | None:
        statement = select(workflow_versions).where(
            workflow_versions.c.workflow_id == workflow_id,
            workflow_versions.c.version == version,
        )
        row = await self._db.first(statement)
        return catalog_mappers.row_to_version(row) if row else None

    async def list_versions(self, workflow_id: str) -> list[WorkflowVersion]:
        statement = (
            select(workflow_versions)
            .where(workflow_versions.c.workflow_id == workflow_id)
            .order_by(workflow_versions.c.version.desc())
        )
        return [catalog_mappers.row_to_version(row) for row in await self._db.rows(statement)]

    async def search(
        self,
        workspace_id: str,
        *,
        name: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[Workflow]:
        statement = select(workflows).where(workflows.c.workspace_id == workspace_id)
        if name is not None:
            statement = statement.where(func.strpos(workflows.c.name, name) > 0)
        if after is not None:
            after_name, after_id = await self._page_key(after)
            statement = statement.where(
                tuple_(_NAME_ORDER, workflows.c.id)
                > tuple_(literal(after_name).collate("C"), literal(after_id, workflows.c.id.type))
            )
        statement = statement.order_by(_NAME_ORDER, workflows.c.id).limit(limit)
        return [catalog_mappers.row_to_workflow(row) for row in await self._db.rows(statement)]

    async def _page_key(self, workflow_id: str) -> tuple[str, str]:
        statement = select(workflows.c.name).where(workflows.c.id == workflow_id)
        row = await self._db.first(statement)
        return (row["name"], workflow_id) if row else ("", workflow_id)

    async def save(self, workflow: Workflow) -> None:
        row = catalog_mappers.workflow_to_row(workflow)
        statement = insert(workflows).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["id"], set_={k: statement.excluded[k] for k in row if k != "id"}
        )
        await self._db.execute(statement)


class PostgresSchedules:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, schedule: Schedule) -> None:
        await self._db.execute(insert(schedules).values(catalog_mappers.schedule_to_row(schedule)))

    async def get(self, workspace_id: str, schedule_id: str) -> Schedule | None:
        statement = select(schedules).where(
            schedules.c.id == schedule_id, schedules.c.workspace_id == workspace_id
        )
        row = await self._db.first(statement)
        return catalog_mappers.row_to_schedule(row) if row else None

    async def save(self, schedule: Schedule) -> None:
        row = catalog_mappers.schedule_to_row(schedule)
        statement = insert(schedules).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["id"], set_={k: statement.excluded[k] for k in row if k != "id"}
        )
        await self._db.execute(statement)

    async def delete(self, schedule_id: str) -> None:
        await self._db.execute(delete(schedules).where(schedules.c.id == schedule_id))

    async def search(self, workspace_id: str, *, workflow_id: str | None = None) -> list[Schedule]:
        statement = select(schedules).where(schedules.c.workspace_id == workspace_id)
        if workflow_id is not None:
            statement = statement.where(schedules.c.workflow_id == workflow_id)
        statement = statement.order_by(schedules.c.created_at, schedules.c.id)
        return [catalog_mappers.row_to_schedule(row) for row in await self._db.rows(statement)]

    async def lock_due(self, now: datetime, limit: int) -> list[Schedule]:
        statement = (
            select(schedules)
            .where(schedules.c.enabled, schedules.c.next_fire_at <= now)
            .order_by(schedules.c.next_fire_at, schedules.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [catalog_mappers.row_to_schedule(row) for row in await self._db.rows(statement)]
