"""The audit log: who changed what in the workspace, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from application.access import Principal
from application.audit import AuditFilter
from application.queries.audit import AuditQueries
from entrypoints.api.auth import ADMIN
from entrypoints.api.schemas.audit import AuditEntryOut, AuditPage
from entrypoints.api.schemas.common import as_utc

Text = Annotated[str | None, QueryParameter(max_length=200)]


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    guards = [ADMIN]

    @get("/")
    async def list_audit(
        self,
        principal: NamedDependency[Principal],
        audit_queries: NamedDependency[AuditQueries],
        action: Annotated[
            str | None, QueryParameter(max_length=200, description="e.g. execution.cancelled")
        ] = None,
        object_type: Annotated[
            str | None, QueryParameter(max_length=200, description="e.g. execution, workflow")
        ] = None,
        object_id: Text = None,
        actor_id: Annotated[
            str | None, QueryParameter(max_length=200, description="a token's id")
        ] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="at or after (ISO 8601)")
        ] = None,
        until: Annotated[datetime | None, QueryParameter(description="before (ISO 8601)")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200, description="page size")] = 50,
        cursor: Annotated[
            str | None, QueryParameter(description="next_cursor of the previous page")
        ] = None,
    ) -> AuditPage:
        """Who did what in the workspace, newest first: the token (id and name), the time,
        the action and the object. Admins only."""
        where = AuditFilter(action, object_type, object_id, actor_id, as_utc(since), as_utc(until))
        page = await audit_queries.page(principal, where, limit=limit, cursor=cursor)
        return AuditPage(
            items=[AuditEntryOut.of(entry) for entry in page.items], next_cursor=page.next_cursor
        )
