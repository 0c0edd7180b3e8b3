"""How the console shows things: status labels and symbols, event sentences, times, JSON.

Status is never shown by colour alone: each has a symbol and a word as well.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

from application.access import Role
from application.records import StoredEvent
from application.triggers.records import Trigger
from domain.execution import Execution, ParentLink
from domain.flow_control import describe_reason

SYMBOLS = {
    "pending": "○",
    "ready": "◔",
    "running": "▶",
    "retrying": "↻",
    "waiting": "‖",
    "succeeded": "✓",
    "completed": "✓",
    "failed": "✕",
    "timed_out": "◷",
    "skipped": "↷",
    "cancelled": "⊘",
}

EXECUTION_STATUSES = (
    "pending",
    "running",
    "waiting",
    "completed",
    "failed",
    "cancelled",
    "timed_out",
)


def status_label(status: str) -> str:
    return status.replace("_", " ")


def status_symbol(status: str) -> str:
    return SYMBOLS.get(status, "•")


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
"""The console's one way of writing a moment: `2026-12-04 15:04:05 UTC`, on every page."""


def full_time(value: datetime | None) -> str:
    """`value` in the console's format, in UTC (a naive time is taken as UTC already)."""
    if value is None:
        return ""
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime(TIME_FORMAT)


def timestamp(value: datetime | None, empty: str = "—") -> Markup:
    """The `timestamp` filter every page uses: a `<time>` element in the console's format,
    its machine-readable ISO form in `datetime`."""
    if value is None:
        return Markup(escape(empty))
    text = full_time(value)
    iso = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return Markup('<time datetime="{}">{}</time>').format(iso.isoformat(), text)


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    return _human(end - start)


def _human(span: timedelta) -> str:
    seconds = span.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _clock(iso: object) -> str:
    """An ISO time from an event payload in the console's format (or as given if it is not
    one)."""
    try:
        return full_time(datetime.fromisoformat(str(iso)))
    except ValueError:
        return str(iso)


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        kind, message = error.get("kind") or error.get("code"), error.get("message")
        return f"{kind}: {message}" if kind and message else str(message or kind or "")
    return str(error)


def parent_role(link: ParentLink) -> str:
    """What a child execution is to its parent: `item 3 of node each` for an item of a
    `for_each` node (indexed from 0, as the API and templates count), else
    `sub-workflow of node enrich`."""
    role = "sub-workflow" if link.item_index is None else f"item {link.item_index}"
    return f"{role} of node {link.node_id}"


@dataclass(frozen=True)
class Origin:
    """What started an execution, as the executions list and the execution page name it."""

    kind: str
    """`item`, `sub_workflow`, `rerun`, `schedule`, `webhook` or `manual`."""
    text: str
    href: str | None = None


def origin_of(execution: Execution, webhooks: Mapping[str, Trigger] | None = None) -> Origin:
    """Derived from the execution's own fields (parent, rerun_of, schedule_id); `webhooks`
    maps the ids of executions a trigger is known to have started to that trigger. An
    execution with none of these was started by hand in the console or through the API."""
    parent = execution.parent
    if parent is not None:
        href = f"/console/executions/{parent.execution_id}?node={parent.node_id}#node-panel"
        if parent.item_index is not None:
            return Origin("item", f"for-each item {parent.item_index} of {parent.node_id}", href)
        return Origin("sub_workflow", f"sub-workflow of {parent.node_id}", href)
    if execution.rerun_of:
        return Origin("rerun", "re-run", f"/console/executions/{execution.rerun_of}")
    if execution.schedule_id:
        return Origin(
            "schedule", "schedule", f"/console/workflows/{execution.workflow_id}#schedules"
        )
    trigger = (webhooks or {}).get(execution.id)
    if trigger is not None:
        name = trigger.name or trigger.id
        return Origin(
            "webhook", f"webhook {name}", f"/console/workflows/{trigger.workflow_id}#triggers"
        )
    return Origin("manual", "manual or API")


ERROR_CHARS = 80


def error_summary(error: Any) -> dict[str, str]:
    """An execution's error as its kind and a message short enough for a table cell (the
    whole message goes in a title attribute)."""
    if not isinstance(error, Mapping):
        message = "" if error is None else str(error)
        return {"kind": "error", "message": shorten(message, ERROR_CHARS), "full": message}
    kind = str(error.get("kind") or error.get("code") or "error")
    message = str(error.get("message") or "")
    return {"kind": kind, "message": shorten(message, ERROR_CHARS), "full": message}


def shorten(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_event(event: StoredEvent) -> str:
    """One sentence for the timeline."""
    payload = event.payload
    kind = event.type
    subject = event.type.removeprefix("node_").removeprefix("execution_").replace("_", " ")
    if kind in {"node_failed", "node_retry_scheduled", "execution_failed"}:
        text = f"{subject} — {_error_text(payload.get('error'))}"
        return text + (f" (retry at {_clock(payload['wake_at'])})" if "wake_at" in payload else "")
    if kind == "node_waiting":
        waits = ", ".join(f"{key} {value}" for key, value in payload.items() if key != "wake_at")
        return f"waiting for {waits or 'a timer'}"
    if kind == "node_succeeded" and payload.get("label"):
        return f"succeeded, took branch “{payload['label']}”"
    if kind in {"node_skipped", "node_interrupted"} and payload.get("reason"):
        return f"{subject} ({payload['reason']})"
    if kind == "signal_received":
        return f"signal “{payload.get('name', '')}” received"
    if kind == "execution_waiting" and payload.get("wake_at"):
        return f"waiting until {_clock(payload['wake_at'])}"
    return subject


def timeline_item(event: StoredEvent) -> dict[str, Any]:
    """What the timeline shows for an event, rendered and sent live the same way."""
    return {
        "seq": event.seq,
        "time": full_time(event.created_at),
        "when": event.created_at.isoformat(),
        "type": event.type,
        "node_id": event.node_id or "",
        "attempt": event.attempt,
        "text": describe_event(event),
        "tone": _tone(event.type),
    }


def _tone(kind: str) -> str:
    if kind.endswith(("failed", "timed_out")):
        return "bad"
    if kind.endswith(("succeeded", "completed")):
        return "good"
    if kind.endswith(("retry_scheduled", "waiting", "cancelled", "cancel_requested")):
        return "warn"
    return "plain"


TEMPLATE_FILTERS = {
    "status_label": status_label,
    "status_symbol": status_symbol,
    "pretty_json": pretty_json,
    "timestamp": timestamp,
    "full_time": full_time,
    "parent_role": parent_role,
    "error_summary": error_summary,
    "waiting_message": describe_reason,
}
TEMPLATE_GLOBALS: dict[str, Any] = {
    "duration": duration,
    "EXECUTION_STATUSES": EXECUTION_STATUSES,
    "EDITOR": Role.EDITOR,
    "SYMBOLS": SYMBOLS,
}

NOTICES = {
    "created": "Workflow created (version 1).",
    "saved": "Saved a new version. Running executions keep the version they started with.",
    "scheduled": "Schedule created.",
    "enabled": "Schedule enabled.",
    "disabled": "Schedule disabled.",
    "started": "Execution started.",
    "signalled": "Signal sent.",
    "cancelled": "Cancellation requested.",
    "archived": "Workflow archived: it cannot be run, and its schedules and triggers no "
    "longer start runs.",
    "retried": "Retrying from the failed nodes.",
    "rerun": "Started a new execution with the same input.",
}
TEMPLATE_GLOBALS["NOTICES"] = NOTICES
