"""The audit log page (admins): who changed what in the workspace, newest first, with
filters by action, object and time, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template

from application.access import Principal, Role
from application.audit import AuditAction, AuditFilter
from application.queries.audit import AuditQueries

PAGE_SIZE = 50
ACTIONS = tuple(action.value for action in AuditAction)
Text = Annotated[str | None, QueryParameter(max_length=200)]


def since_of(text: str | None) -> datetime | None:
    """The `since` field (a browser's local date and time, read as UTC); None when empty
    or not a time, so a mistyped filter shows everything rather than an error page."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _blank_as_none(value: str | None) -> str | None:
    return value.strip() or None if value else None


class AuditPages(Controller):
    path = "/console/audit"
    include_in_schema = False

    @get("/")
    async def list_audit(
        self,
        principal: NamedDependency[Principal],
        audit_queries: NamedDependency[AuditQueries],
        action: Text = None,
        object: Text = None,
        since: Text = None,
        cursor: Annotated[str | None, QueryParameter(max_length=1000)] = None,
    ) -> Template:
        principal.require(Role.ADMIN)
        where = AuditFilter(
            action=_blank_as_none(action),
            object_id=_blank_as_none(object),
            since=since_of(since),
        )
        page = await audit_queries.page(principal, where, limit=PAGE_SIZE, cursor=cursor)
        filters = {"action": action or "", "object": object or "", "since": since or ""}
        context: dict[str, Any] = {
            "principal": principal,
            "nav": "audit",
            "title": "Audit log",
            "entries": page.items,
            "next_cursor": page.next_cursor,
            "filters": filters,
            "actions": ACTIONS,
        }
        return Template("audit.html", context=context)
