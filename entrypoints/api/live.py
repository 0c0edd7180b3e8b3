"""Live updates: one subscription per process to committed notifications, fanned out to
every open event stream through its own bounded asyncio queue.

Clients never poll the database: a notification wakes the streams it concerns, and an
execution stream then reads the new events (after the last sequence it sent) once.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from application.creation import EVENTS_CHANNEL
from application.ports.notifications import Notifications

QUEUE_SIZE = 256
RECENT_SIZE = 2048


@dataclass(frozen=True)
class Notice:
    """One committed change of an execution's status or history, numbered in this process."""

    number: int
    payload: Mapping[str, Any]


@dataclass(eq=False)
class Subscription:
    workspace_id: str
    execution_id: str | None
    queue: asyncio.Queue[Notice | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

    def offer(self, notice: Notice) -> None:
        payload = notice.payload
        if payload.get("workspace_id") != self.workspace_id:
            return
        if self.execution_id is not None and payload.get("execution_id") != self.execution_id:
            return
        try:
            self.queue.put_nowait(notice)
        except asyncio.QueueFull:
            # A client this slow ends its stream; it reconnects with Last-Event-ID.
            self.overflowed = True

    async def next(self, timeout: float) -> Notice | None:
        """The next notice, or None after `timeout` seconds or when the hub closes."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class EventHub:
    def __init__(self) -> None:
        self.boot = uuid.uuid4().hex[:8]
        self.closed = False
        self._count = 0
        self._recent: deque[Notice] = deque(maxlen=RECENT_SIZE)
        self._subscriptions: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    @property
    def listeners(self) -> int:
        return len(self._subscriptions)

    def attach(self, notifications: Notifications) -> None:
        """Subscribe once to the storage's notifications (call from the serving loop)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        notifications.subscribe(self.receive)

    def receive(self, channel: str, payload: Mapping[str, Any]) -> None:
        if channel != EVENTS_CHANNEL or self.closed or self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._publish(dict(payload))
        else:
            self._loop.call_soon_threadsafe(self._publish, dict(payload))

    def _publish(self, payload: dict[str, Any]) -> None:
        self._count += 1
        notice = Notice(self._count, payload)
        self._recent.append(notice)
        for subscription in list(self._subscriptions):
            subscription.offer(notice)

    @contextmanager
    def subscribe(
        self, workspace_id: str, execution_id: str | None = None
    ) -> Iterator[Subscription]:
        subscription = Subscription(workspace_id, execution_id)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    def event_id(self, notice: Notice) -> str:
        return f"{self.boot}-{notice.number}"

    def missed_since(self, workspace_id: str, last_event_id: str) -> list[Notice] | None:
        """The workspace's notices after `last_event_id`; None when they are not all known
        (another process or restart numbered it, or it fell out of the recent buffer)."""
        boot, _, number_text = last_event_id.partition("-")
        if boot != self.boot or not number_text.isdigit():
            return None
        number = int(number_text)
        oldest = self._recent[0].number if self._recent else self._count + 1
        if number < oldest - 1 or number > self._count:
            return None
        return [
            n
            for n in self._recent
            if n.number > number and n.payload.get("workspace_id") == workspace_id
        ]

    def close(self) -> None:
        """Wake every stream so it ends (the server is shutting down)."""
        self.closed = True
        for subscription in list(self._subscriptions):
            try:
                subscription.queue.put_nowait(None)
            except asyncio.QueueFull:
                subscription.overflowed = True
