"""The HTTP API (Litestar) under /api/v1: `create_app(runtime, settings)` builds it."""
