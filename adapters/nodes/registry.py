"""The network executors, sharing one guarded HTTP client."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.nodes.ai_prompt import AiPromptExecutor
from adapters.nodes.guarded_transport import guarded_client
from adapters.nodes.http_request import HttpRequestExecutor
from adapters.nodes.network_guard import NetworkGuard
from application.ports.executors import NodeExecutor
from domain.definition import NodeKind


def network_executors(
    allowed_hosts: Sequence[str], max_response_bytes: int = 1_000_000
) -> dict[str, NodeExecutor]:
    """http_request and ai_prompt executors behind the SSRF guard and its allowlist."""
    client = guarded_client(NetworkGuard(allowed_hosts))
    return {
        NodeKind.HTTP_REQUEST: HttpRequestExecutor(client, max_response_bytes=max_response_bytes),
        NodeKind.AI_PROMPT: AiPromptExecutor(client),
    }
