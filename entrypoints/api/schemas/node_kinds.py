"""The node kinds people can choose from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.node_kinds import KindListing
from entrypoints.api.schemas.common import Out


class NodeKindOut(Out):
    kind: str
    title: str
    description: str
    builtin: bool
    """Built into Treadle; otherwise added by an installed package."""
    config_schema: dict[str, Any] | None
    """The JSON Schema of the node's config (for a form); None where none is published yet."""
    example: dict[str, Any] | None
    """A config to start from."""
    package: str | None
    """The package (name and version) that adds it."""
    last_seen_at: datetime | None
    """When a worker that has it last said so; None for a built-in kind, or for one that
    only the API has (no worker would run it, and saving a workflow with it is refused)."""

    @classmethod
    def of(cls, listing: KindListing) -> NodeKindOut:
        found = listing.description
        return cls(
            kind=found.name,
            title=found.title,
            description=found.description,
            builtin=listing.builtin,
            config_schema=dict(found.config_schema) if found.config_schema is not None else None,
            example=dict(found.example) if found.example is not None else None,
            package=found.package,
            last_seen_at=listing.last_seen_at,
        )
