"""How the console shows things: status labels and symbols, event sentences, times, JSON.

Status is never shown by colour alone: each has a symbol and a word as well.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from application.access import Role
from application.records import StoredEvent
from domain.execution import ParentLink
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


def short_time(value: datetime | None) -> str:
    """`14:03:22` today's style; the date is in the title attribute where it matters."""
    return value.strftime("%H:%M:%S") if value else ""


def full_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value else ""


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
    """An ISO time from an event payload as `14:03:22` (or as given if it is not one)."""
    try:
        return short_time(datetime.fromisoformat(str(iso)))
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
        "time": short_time(event.created_at),
        "when": full_time(event.created_at),
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
    "short_time": short_time,
    "full_time": full_time,
    "parent_role": parent_role,
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
    "retried": "Retrying from the failed nodes.",
    "rerun": "Started a new execution with the same input.",
}
TEMPLATE_GLOBALS["NOTICES"] = NOTICES
