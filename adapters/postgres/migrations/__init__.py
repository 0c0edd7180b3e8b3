"""Alembic migrations of the Treadle schema (run them with `treadle migrate`)."""
