"""Bridges from the dependency-injector containers to Litestar dependencies.

Each provider is wrapped in a small function called per request, so a test that
overrides a provider changes what the next request gets.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import providers
from litestar.di import Provide

from entrypoints.api.auth import PRINCIPAL
from entrypoints.api.services import ApiServices
from entrypoints.runtime import Runtime

ENGINE_USE_CASES = (
    "create_workflow",
    "update_workflow",
    "start_run",
    "start_runs",
    "deliver_signal",
    "cancel_execution",
    "retry_execution",
    "rerun_execution",
    "node_kinds",
)
SERVICE_NAMES = (
    "workflow_queries",
    "execution_queries",
    "admin_queries",
    "audit_queries",
    "archive_workflow",
    "create_schedule",
    "update_schedule",
    "delete_schedule",
    "create_secret",
    "rotate_secret",
    "delete_secret",
    "create_token",
    "revoke_token",
    "trigger_queries",
    "create_trigger",
    "update_trigger",
    "delete_trigger",
    "receive_hook",
    "people_queries",
    "invite",
    "cancel_invitation",
    "change_membership",
)


def from_container(provider: providers.Provider[Any]) -> Provide:
    def dependency() -> Any:
        return provider()

    return Provide(dependency, sync_to_thread=False)


def api_dependencies(runtime: Runtime, services: ApiServices) -> dict[str, Provide]:
    """The engine's use cases and the services, by the names handlers ask for."""
    found: dict[str, Provide] = {"principal": PRINCIPAL}
    for name in ENGINE_USE_CASES:
        found[name] = from_container(getattr(runtime.engine, name))
    for name in SERVICE_NAMES:
        found[name] = from_container(getattr(services, name))
    return found
