"""Secrets encrypted at rest with a key derived from SECRET_KEY, and an in-memory store."""
