"""`treadle audit`: who changed what in a workspace, newest first.

On the database it reads `--workspace`; over the API, the token's workspace, with an admin
token.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import typer

from entrypoints.cli.audit_views import AuditQuery, AuditRow
from entrypoints.cli.common import WORKSPACE_OPTION, console, fail, new_table, short_time
from entrypoints.cli.operations import operations

_AGE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO 8601 time (UTC when it has no offset), or an age like 2h or 7d."""
    match = _AGE.match(text.lower())
    if match is not None:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r}: give a time (2026-01-31T12:00) or an age (90m, 12h, 7d, 2w)", 2)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _actor(row: AuditRow) -> str:
    return f"{row.actor_name} ({row.actor_id})" if row.actor_name else row.actor_id


def _object(row: AuditRow) -> str:
    return f"{row.object_type} {row.object_id}" if row.object_id else row.object_type


def audit(
    workspace: str = WORKSPACE_OPTION,
    action: str | None = typer.Option(
        None, "--action", help="Only this action, e.g. execution.cancelled."
    ),
    object_id: str | None = typer.Option(
        None, "--object", help="Only changes to this object: an id, or a secret's name."
    ),
    since: str | None = typer.Option(
        None, "--since", help="From this time (ISO 8601) or age (90m, 12h, 7d) on."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=200, help="At most this many entries."),
) -> None:
    """List who changed what (the token, the action, the object), newest first."""
    query = AuditQuery(
        action=action,
        object_id=object_id,
        since=parse_since(since, datetime.now(UTC)) if since else None,
        limit=limit,
    )
    rows = operations().list_audit(workspace, query)
    if not rows:
        typer.echo("no audit entries match")
        return
    table = new_table("at", "actor", "action", "object", "details")
    for row in rows:
        details = json.dumps(row.details, separators=(",", ":")) if row.details else ""
        table.add_row(short_time(row.at), _actor(row), row.action, _object(row), details)
    console().print(table)
