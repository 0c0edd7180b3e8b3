"""The tracing port over OpenTelemetry (the `treadle[otel]` extra).

Imported only when tracing is on: `tracing_requested()` (in `adapters.tracing.config`)
reads the environment without importing OpenTelemetry. Trace contexts are carried as W3C
headers, whatever `OTEL_PROPAGATORS` says: they are what Treadle stores on executions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from application.ports.tracing import Attributes, Carrier

INSTRUMENTATION_NAME = "treadle"
DEFAULT_SERVICE_NAME = "treadle"
_W3C = TraceContextTextMapPropagator()


def _nanoseconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1_000_000_000)


def carrier_of(span: trace.Span) -> dict[str, str]:
    """The W3C headers that continue the trace from `span`."""
    headers: dict[str, str] = {}
    _W3C.inject(headers, context=trace.set_span_in_context(span))
    return headers


def context_of(carrier: Carrier | None) -> Context:
    """The context a carrier names; an empty one (a new trace) for None."""
    return _W3C.extract(dict(carrier)) if carrier else Context()


def _span_context(carrier: Carrier) -> trace.SpanContext:
    return trace.get_current_span(context_of(carrier)).get_span_context()


class OtelSpan:
    """A port span over an OpenTelemetry span."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def set_attributes(self, attributes: Attributes) -> None:
        self._span.set_attributes(dict(attributes))

    def record_error(self, kind: str) -> None:
        self._span.set_attribute("treadle.error.kind", kind)
        self._span.set_status(Status(StatusCode.ERROR, kind))

    def carrier(self) -> dict[str, str]:
        return carrier_of(self._span)

    def end(self, end_time: datetime | None = None) -> None:
        self._span.end(end_time=_nanoseconds(end_time))

    def __enter__(self) -> OtelSpan:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The type only: an exception's message may quote an input or a secret.
        if kind is not None and not issubclass(kind, GeneratorExit):
            self.record_error(kind.__name__)
        self.end()


class OtelTracer:
    """Spans of an OpenTelemetry tracer provider (the one given, or the global one)."""

    enabled = True

    def __init__(self, provider: trace.TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer(INSTRUMENTATION_NAME)

    def start_span(
        self,
        name: str,
        *,
        parent: Carrier | None = None,
        links: Sequence[Carrier] = (),
        attributes: Attributes | None = None,
        start_time: datetime | None = None,
    ) -> OtelSpan:
        linked = [Link(_span_context(link)) for link in links]
        span = self._tracer.start_span(
            name,
            context=context_of(parent),
            kind=SpanKind.INTERNAL,
            attributes=dict(attributes or {}),
            links=[link for link in linked if link.context.is_valid],
            start_time=_nanoseconds(start_time),
        )
        return OtelSpan(span)


def provider_from_environment() -> TracerProvider:
    """A tracer provider as the standard `OTEL_*` variables describe it: the service name
    (`treadle` by default) and resource attributes, the sampler, and a batching exporter
    per name in `OTEL_TRACES_EXPORTER` (`otlp`, the default, over HTTP; `console`)."""
    resource = Resource.create(
        {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: DEFAULT_SERVICE_NAME}
    )
    provider = TracerProvider(resource=resource)
    for exporter in _exporters(os.environ.get("OTEL_TRACES_EXPORTER", "otlp")):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporters(names: str) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in (part.strip().lower() for part in names.split(",")):
        if name == "otlp":
            # Reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT... itself.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name not in ("", "none"):
            raise ValueError(f"OTEL_TRACES_EXPORTER names {name!r}: use otlp, console or none")
    return exporters
