"""Builds `NodeCall`s for executor tests without an engine around them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from application.ports.executors import NodeCall
from domain.definition import NodeKind


def node_call(
    kind: NodeKind,
    config: Mapping[str, Any],
    *,
    attempt: int = 1,
    timeout: timedelta | None = None,
    secrets: Mapping[str, str] | None = None,
    idempotency_key: str = "exec-1:node-1",
) -> NodeCall:
    """A call made now; `timeout` sets the deadline that far ahead of the real clock."""
    now = datetime.now(UTC)
    return NodeCall(
        execution_id="exec-1",
        workspace_id="ws-1",
        workflow_id="wf-1",
        node_id="node-1",
        kind=kind,
        attempt=attempt,
        config=config,
        context={},
        idempotency_key=idempotency_key,
        now=now,
        deadline=None if timeout is None else now + timeout,
        secrets=dict(secrets or {}),
    )
