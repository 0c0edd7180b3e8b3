"""Notifications within one process: the store hands every committed one to its subscribers."""

from __future__ import annotations

from collections.abc import Callable

from adapters.memory.store import InMemoryStore
from application.ports.notifications import Subscriber


class InMemoryNotifications:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._store.subscribers.append(subscriber)
        return lambda: self._unsubscribe(subscriber)

    def _unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._store.subscribers:
            self._store.subscribers.remove(subscriber)
