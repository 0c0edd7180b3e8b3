"""Request spans for the API, with Litestar's OpenTelemetry plugin, when tracing is on.

A request's span continues the caller's trace (a `traceparent` header), and executions a
request starts (a run, a webhook delivery, a retry) are started in it. Span names and URL
attributes carry the route template, not the path: a webhook's path is its secret, and a
query may carry `?token=`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from application.tracing import started_in

if TYPE_CHECKING:
    from litestar.plugins import PluginProtocol
    from litestar.types import Scope

_URL_ATTRIBUTES = ("http.url", "url.full", "http.target", "url.path")
_QUERY_ATTRIBUTES = ("url.query",)


def tracing_plugins(tracer_provider: Any) -> list[PluginProtocol]:
    """Litestar's OpenTelemetry plugin over `tracer_provider`; none when it is None."""
    if tracer_provider is None:
        return []
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

    config = OpenTelemetryConfig(
        tracer_provider=tracer_provider,
        scope_span_details_extractor=route_span_details,
        server_request_hook_handler=on_request_span,
        exclude=["/metrics", "/healthz", "/readyz"],
        exclude_spans=["receive", "send"],
    )
    return [OpenTelemetryPlugin(config)]


def route_of(scope: Mapping[str, Any]) -> str:
    """The request's route template (`/hooks/{trigger_id:str}`), never its concrete path.

    The plugin's middleware runs before the router has put the template in the scope, so
    the route is looked up here (a path no route matches is `unrouted`)."""
    template = scope.get("path_template")
    if template:
        return str(template)
    app: Any = scope.get("litestar_app")
    try:
        routed = app.asgi_router.handle_routing(path=scope["path"], method=scope.get("method"))
    except Exception:  # no route: a 404 or 405 follows
        return "unrouted"
    return str(routed[-1])


def route_span_details(scope: Scope) -> tuple[str, dict[str, str]]:
    method = str(scope.get("method", "")).strip()
    route = route_of(scope)
    name = f"{method} {route}" if method else route
    return name, {"http.route": route}


def on_request_span(span: Any, scope: dict[str, Any]) -> None:
    """Replace the URL attributes by the route, and start executions in this span's trace."""
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    route = route_of(scope)
    if span.is_recording():
        for name in _URL_ATTRIBUTES:
            span.set_attribute(name, route)
        for name in _QUERY_ATTRIBUTES:
            span.set_attribute(name, "")
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context=trace.set_span_in_context(span))
    started_in.set(carrier)
