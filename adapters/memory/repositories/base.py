"""What every in-memory repository holds: the store and the unit of work's journal."""

from __future__ import annotations

from adapters.memory.journal import Journal
from adapters.memory.store import InMemoryStore


class Repo:
    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self.store = store
        self.journal = journal
