"""Identifiers: short prefixed random ids, so a person can tell what an id names."""

from __future__ import annotations

import hashlib
import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def node_idempotency_key(execution_id: str, node_id: str) -> str:
    """The same for every attempt of one node in one execution."""
    digest = hashlib.sha256(f"{execution_id}/{node_id}".encode()).hexdigest()
    return f"treadle-{digest[:40]}"


def secret_digest(secret: str) -> str:
    """What is stored of a long random secret (an API token, a console session id): its
    SHA-256, enough to make a leaked table useless (no salt or slow hash is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
