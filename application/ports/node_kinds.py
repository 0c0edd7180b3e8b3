"""Node kinds that installed packages add: what the catalogue of a process knows of them,
and the registry of the kinds the workers have (kept in the database, the only channel
between the API and the workers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.problems import Problem


@dataclass(frozen=True)
class KindDescription:
    """A node kind as people choose it: its name in definitions, a title and description
    for the palette, the JSON Schema of its config (the console's form), an example config,
    and the package (name and version) it comes from; built-in kinds have no package."""

    name: str
    title: str
    description: str = ""
    config_schema: Mapping[str, Any] | None = None
    example: Mapping[str, Any] | None = None
    package: str | None = None


@dataclass(frozen=True)
class RegisteredKind:
    """A kind some worker has, and when a worker that has it last said so."""

    description: KindDescription
    last_seen_at: datetime


class NodeKindRepository(Protocol):
    async def register(self, kinds: Sequence[KindDescription], now: datetime) -> None:
        """Record that a worker has these kinds now (their descriptions replace older ones)."""
        ...

    async def registered(self) -> list[RegisteredKind]:
        """Every kind a worker has registered, by name."""
        ...


class InstalledKinds(Protocol):
    """The kinds installed in this process, with their config models."""

    def descriptions(self) -> Sequence[KindDescription]: ...

    def check_config(self, kind: str, config: Mapping[str, Any], path: str) -> list[Problem] | None:
        """The problems of a node's config of `kind` at save (templates stand for any value
        of their field); None when this process does not have the kind."""
        ...


class NoInstalledKinds:
    """A process with only the built-in kinds."""

    def descriptions(self) -> Sequence[KindDescription]:
        return ()

    def check_config(self, kind: str, config: Mapping[str, Any], path: str) -> list[Problem] | None:
        return None
