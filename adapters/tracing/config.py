"""Whether the environment asks for tracing, read without importing OpenTelemetry (a
process that does not trace pays nothing for it)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping

_ASKING = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


def tracing_requested(environ: Mapping[str, str] | None = None) -> bool:
    """True when an `OTEL_*` variable names where traces go (an exporter other than
    `none`, or an OTLP endpoint) and `OTEL_SDK_DISABLED` is not `true`."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return any(env.get(name, "").strip() for name in _ASKING)


def tracing_installed() -> bool:
    """Whether the `treadle[otel]` packages are installed."""
    return importlib.util.find_spec("opentelemetry.sdk") is not None
