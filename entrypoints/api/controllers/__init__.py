"""One controller per resource under /api/v1."""
