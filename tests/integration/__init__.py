"""Integration tests against real PostgreSQL servers and processes."""
