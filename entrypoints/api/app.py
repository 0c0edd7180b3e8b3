"""The Litestar application: routes under /api/v1, probes, metrics and the OpenAPI schema."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from entrypoints.api.auth import BearerTokenMiddleware
from entrypoints.api.bounded_input import BoundedRequest, refuse_nul_in_url
from entrypoints.api.controllers.admin import SecretController, TokenController, WorkspaceController
from entrypoints.api.controllers.audit import AuditController
from entrypoints.api.controllers.executions import ExecutionController
from entrypoints.api.controllers.health import HealthController
from entrypoints.api.controllers.hooks import HookController
from entrypoints.api.controllers.members import MeController, MemberController
from entrypoints.api.controllers.node_kinds import NodeKindController
from entrypoints.api.controllers.retention import RetentionController
from entrypoints.api.controllers.schedules import ScheduleController
from entrypoints.api.controllers.streams import StreamController
from entrypoints.api.controllers.triggers import TriggerController
from entrypoints.api.controllers.workflows import WorkflowController
from entrypoints.api.dependencies import api_dependencies
from entrypoints.api.errors import EXCEPTION_HANDLERS
from entrypoints.api.live import EventHub
from entrypoints.api.schemas.common import ErrorBody
from entrypoints.api.services import ApiServices
from entrypoints.api.tracing import tracing_plugins
from entrypoints.console import console_handlers, console_template_config
from entrypoints.runtime import Runtime
from entrypoints.settings import Settings

API_PREFIX = "/api/v1"
VERSION = "0.1.0"

_ERRORS = {
    400: "malformed JSON, an unknown field, a wrong type or a bad cursor",
    401: "no valid bearer token",
    403: "the token's role may not do this",
    404: "no such resource in this workspace",
    409: "the resource is not in a state that allows this",
    413: "the request body is larger than the configured limit",
    422: "the values are well-formed but not acceptable (an invalid definition, a NUL"
    " character, nesting beyond 64 levels, an integer beyond 64 bits, a cron that never fires)",
    503: "the database is unavailable; retry after the Retry-After seconds",
}


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def api_router() -> Router:
    return Router(
        path=API_PREFIX,
        route_handlers=[
            WorkflowController,
            ExecutionController,
            StreamController,
            ScheduleController,
            TriggerController,
            SecretController,
            TokenController,
            WorkspaceController,
            MemberController,
            MeController,
            NodeKindController,
            RetentionController,
            AuditController,
        ],
        middleware=[DefineMiddleware(BearerTokenMiddleware)],
        security=[{"BearerToken": []}],
    )


def document_errors(app: Litestar) -> None:
    """Add the error responses every /api/v1 operation may give to its OpenAPI entry
    (Litestar sets `responses` per handler only; the schema is built lazily, after this)."""
    errors = {status: ResponseSpec(ErrorBody, description=text) for status, text in _ERRORS.items()}
    for route in app.routes:
        if not route.path.startswith(API_PREFIX):
            continue
        for handler in getattr(route, "route_handlers", ()):
            handler.responses = {**errors, **(handler.responses or {})}


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Treadle",
        version=VERSION,
        description="A durable workflow engine on PostgreSQL. See docs/api.md.",
        path="/schema",
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="a token from `treadle tokens create` or POST /api/v1/tokens",
                )
            }
        ),
    )


def create_app(
    runtime: Runtime, settings: Settings, services: ApiServices | None = None
) -> Litestar:
    """The API over an open runtime (from `bootstrap`); the caller closes the runtime."""
    services = services or runtime.services
    hub = EventHub()
    metrics = PrometheusConfig(
        app_name="treadle", prefix="treadle_api", group_path=True, exclude=["/metrics"]
    )
    app = Litestar(
        route_handlers=[
            api_router(),
            HookController,
            HealthController,
            MetricsController,
            *console_handlers(),
        ],
        template_config=console_template_config(),
        dependencies=api_dependencies(runtime, services),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        request_class=BoundedRequest,
        before_request=refuse_nul_in_url,
        openapi_config=openapi_config(),
        middleware=[metrics.middleware],
        plugins=tracing_plugins(runtime.tracer_provider),
        # Litestar's default logging set-up would replace the process's handler, and with it
        # the one-line format and the filter that keeps `?token=` values out of access lines.
        logging_config=None,
        on_startup=[lambda: hub.attach(runtime.storage.notifications)],
        on_shutdown=[hub.close],
        state=State(
            {
                "runtime": runtime,
                "services": services,
                "hub": hub,
                "readiness": runtime.storage.readiness,
            }
        ),
    )
    document_errors(app)
    return app
