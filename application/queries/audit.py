"""Reading the audit log: admins only, newest first, a page at a time."""

from __future__ import annotations

from datetime import datetime

from application.access import Principal, Role
from application.audit import Actor, AuditAction, AuditEntry, AuditFilter
from application.input_errors import InvalidCursor
from application.ports.unit_of_work import UnitOfWorkFactory
from application.queries.pagination import Page, decode_cursor, encode_cursor

_CURSOR = "audit"
MAX_PAGE = 200
EXECUTION_ACTIONS = 50
"""Entries shown about one execution on its page (who started, cancelled, signalled it)."""
VERSION_AUTHORS = 500
"""Versions of one workflow whose author its page names (the newest ones)."""


def _position(cursor: str) -> tuple[datetime, int]:
    position = decode_cursor(_CURSOR, cursor)
    try:
        at = datetime.fromisoformat(str(position["t"]))
        entry_id = position["id"]
    except (KeyError, ValueError):
        raise InvalidCursor() from None
    if type(entry_id) is not int or at.tzinfo is None:
        raise InvalidCursor()
    return at, entry_id


def _next_cursor(last: AuditEntry) -> str:
    return encode_cursor(_CURSOR, {"t": last.at.isoformat(), "id": last.id})


class AuditQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def page(
        self,
        principal: Principal,
        where: AuditFilter,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[AuditEntry]:
        """The caller's workspace's entries matching `where`, newest first, by keyset: a
        cursor holds the (at, id) of the last entry of the previous page. Admins only."""
        principal.require(Role.ADMIN)
        limit = max(1, min(limit, MAX_PAGE))
        before = _position(cursor) if cursor else None
        async with self._uow() as uow:
            rows = await uow.audit.search(
                principal.workspace_id, where, limit=limit + 1, before=before
            )
        page = rows[:limit]
        more = len(rows) > limit and bool(page)
        return Page(page, _next_cursor(page[-1]) if more else None)

    async def for_object(
        self,
        principal: Principal,
        object_type: str,
        object_id: str,
        *,
        action: str | None = None,
        limit: int = EXECUTION_ACTIONS,
    ) -> list[AuditEntry]:
        """The newest `limit` entries about one object (only `action`'s, if given), oldest
        first: who changed it, for its own page. Every member who may see the object may
        see who changed it; the whole log stays for admins."""
        where = AuditFilter(action=action, object_type=object_type, object_id=object_id)
        async with self._uow() as uow:
            rows = await uow.audit.search(principal.workspace_id, where, limit=limit)
        return list(reversed(rows))

    async def of_execution(self, principal: Principal, execution_id: str) -> list[AuditEntry]:
        """Who started, cancelled, retried, re-ran or signalled an execution, oldest first."""
        return await self.for_object(principal, "execution", execution_id)

    async def version_authors(self, principal: Principal, workflow_id: str) -> dict[int, Actor]:
        """Who made each version of a workflow (by version number), from the entries that
        created it and saved its new versions. A description-only save names no version and
        is left out."""
        authors: dict[int, Actor] = {}
        for action in (AuditAction.WORKFLOW_CREATED, AuditAction.WORKFLOW_UPDATED):
            entries = await self.for_object(
                principal, "workflow", workflow_id, action=action.value, limit=VERSION_AUTHORS
            )
            authors.update(_by_version(entries))
        return authors


def _by_version(entries: list[AuditEntry]) -> dict[int, Actor]:
    """Each entry's actor under the version number its details name, if they name one."""
    return {
        entry.details["version"]: entry.actor
        for entry in entries
        if type(entry.details.get("version")) is int
    }
