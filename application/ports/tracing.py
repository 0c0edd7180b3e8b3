"""The tracing port: spans the engine and the use cases open, whatever records them.

An adapter (OpenTelemetry, `adapters/tracing/otel.py`) implements it when tracing is
configured; otherwise `NO_TRACING` stands in, whose spans do nothing and cost nothing.
Trace contexts cross processes as W3C carriers (`traceparent`, `tracestate`): stored on
an execution, sent with a node's HTTP call.

What a span may carry: ids, kinds, counts, statuses and error kinds. Never a secret, an
input, an output, a body or an error message (which may quote any of them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

AttributeValue = str | int | float | bool
Attributes = Mapping[str, AttributeValue]
Carrier = Mapping[str, str]
"""A trace context as W3C headers: `traceparent` and, when there is one, `tracestate`."""


class Span(Protocol):
    """One timed operation. As a context manager it ends on exit, and an exception that
    leaves it marks it failed with the exception's type (never its message)."""

    def set_attributes(self, attributes: Attributes) -> None: ...

    def record_error(self, kind: str) -> None:
        """Mark the span failed with an error kind (`timeout`, `http_status`, ...)."""
        ...

    def carrier(self) -> dict[str, str]:
        """The W3C headers that continue the trace from this span (empty: not traced)."""
        ...

    def end(self, end_time: datetime | None = None) -> None: ...

    def __enter__(self) -> Span: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class Tracer(Protocol):
    enabled: bool
    """False for the no-op tracer: callers skip work done only for spans."""

    def start_span(
        self,
        name: str,
        *,
        parent: Carrier | None = None,
        links: Sequence[Carrier] = (),
        attributes: Attributes | None = None,
        start_time: datetime | None = None,
    ) -> Span:
        """A span, child of `parent` (None: of the current span, if any), linked to the
        traces of `links`, started at `start_time` (None: now)."""
        ...


class NoSpan:
    """A span that records nothing."""

    def set_attributes(self, attributes: Attributes) -> None:
        return None

    def record_error(self, kind: str) -> None:
        return None

    def carrier(self) -> dict[str, str]:
        return {}

    def end(self, end_time: datetime | None = None) -> None:
        return None

    def __enter__(self) -> NoSpan:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


_NO_SPAN = NoSpan()


class NoTracer:
    """Tracing off: every span is the same object that does nothing."""

    enabled = False

    def start_span(
        self,
        name: str,
        *,
        parent: Carrier | None = None,
        links: Sequence[Carrier] = (),
        attributes: Attributes | None = None,
        start_time: datetime | None = None,
    ) -> Span:
        return _NO_SPAN


NO_TRACING: Tracer = NoTracer()
