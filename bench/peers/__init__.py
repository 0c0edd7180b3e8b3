"""Treadle side by side with other PostgreSQL-backed job and workflow systems."""
