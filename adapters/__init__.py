"""Implementations of the application's ports: Postgres, in-memory, clocks, node executors."""
