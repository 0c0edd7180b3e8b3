"""Tracing adapters: OpenTelemetry behind the tracing port, and the traced work queue."""
