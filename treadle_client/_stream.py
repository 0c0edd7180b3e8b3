"""Following the API's live streams (server-sent events), shared by both clients: the
framing of messages, where a stream is, and when and how to reconnect to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import quote

import msgspec

from treadle_client._retry import worth_retrying
from treadle_client.errors import ConnectionFailed, TreadleError
from treadle_client.models import ChangesMissed, Event, ExecutionChange

T = TypeVar("T")

DEFAULT_MAX_RECONNECTS = 5
"""Reconnections in a row, without an event between them, before a watch gives up."""


@dataclass
class Message:
    """One server-sent event: `event` is None for a plain data message."""

    event: str | None = None
    data: list[str] = field(default_factory=list)
    id: str | None = None
    retry_ms: int | None = None


class MessageReader:
    """Turns the stream's lines into messages, as the server-sent events format says."""

    def __init__(self) -> None:
        self._message = Message()
        self._touched = False

    def feed(self, line: str) -> Message | None:
        """The message the line ends (an empty line ends one), else None."""
        if not line:
            message, touched = self._message, self._touched
            self._message, self._touched = Message(), False
            return message if touched and (message.data or message.event) else None
        if line.startswith(":"):
            return None  # a comment: keepalive, stream open
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        self._touched = True
        if name == "data":
            self._message.data.append(value)
        elif name == "event":
            self._message.event = value
        elif name == "id":
            self._message.id = value
        elif name == "retry" and value.isdigit():
            self._message.retry_ms = int(value)
        return None


class Followed(Generic[T]):
    """A live stream being followed: its path, the id to resume after, and how long to
    wait before reconnecting. Subclasses turn its messages into items."""

    def __init__(self, path: str, reconnect_delay: float | None, max_reconnects: int) -> None:
        self.path = path
        self.ended = False
        self._fixed_delay = reconnect_delay
        self._server_delay = 2.0
        self._max_reconnects = max_reconnects
        self._failures = 0

    def last_event_id(self) -> str | None:
        """The id of the last message seen, sent back as `Last-Event-ID` on reconnecting."""
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        last = self.last_event_id()
        if last:
            headers["Last-Event-ID"] = last
        return headers

    def read(self, message: Message) -> T | None:
        """The item a message carries, None for any other message."""
        if message.retry_ms is not None:
            self._server_delay = min(message.retry_ms / 1000, 30.0)
        item = self._item_of(message)
        if item is not None:
            self._failures = 0
        return item

    def _item_of(self, message: Message) -> T | None:
        raise NotImplementedError

    def dropped(self, error: TreadleError | None) -> float:
        """How long to wait before reconnecting after the stream ended without `end` or
        failed with `error`; raises when it is time to give up."""
        if error is not None and not _worth_reconnecting(error):
            raise error
        self._failures += 1
        if self._failures > self._max_reconnects:
            raise error or ConnectionFailed(
                None, "stream_dropped", f"{self.path} kept closing without its end"
            )
        if error is not None and error.retry_after is not None:
            return error.retry_after
        return self._fixed_delay if self._fixed_delay is not None else self._server_delay


class Watch(Followed[Event]):
    """An execution's stream: its events by `seq`, until the `end` message."""

    def __init__(
        self,
        execution_id: str,
        after: int,
        reconnect_delay: float | None,
        max_reconnects: int,
    ) -> None:
        path = f"/executions/{quote(execution_id, safe='')}/stream"
        super().__init__(path, reconnect_delay, max_reconnects)
        self.after = after
        self.end_status: str | None = None

    def last_event_id(self) -> str | None:
        return str(self.after) if self.after else None

    def _item_of(self, message: Message) -> Event | None:
        text = "\n".join(message.data)
        if message.event == "end":
            self.ended = True
            end = msgspec.json.decode(text or "{}")
            self.end_status = end.get("status") if isinstance(end, dict) else None
            return None
        if message.event not in (None, "message") or not text:
            return None
        event = msgspec.json.decode(text, type=Event)
        if event.seq <= self.after:
            return None  # already seen before a reconnection
        self.after = event.seq
        return event


class WorkspaceWatch(Followed[ExecutionChange | ChangesMissed]):
    """The workspace's stream: a change of any of its executions, as they commit; it has
    no end. `reset` (the server cannot replay what was missed) becomes `ChangesMissed`."""

    def __init__(
        self, last_event_id: str | None, reconnect_delay: float | None, max_reconnects: int
    ) -> None:
        super().__init__("/stream", reconnect_delay, max_reconnects)
        self._last_event_id = last_event_id

    def last_event_id(self) -> str | None:
        return self._last_event_id

    def _item_of(self, message: Message) -> ExecutionChange | ChangesMissed | None:
        text = "\n".join(message.data)
        if message.event == "reset":
            return ChangesMissed()
        if message.event not in (None, "message") or not text:
            return None
        change = msgspec.json.decode(text, type=ExecutionChange)
        if message.id:
            self._last_event_id = message.id
            change = msgspec.structs.replace(change, event_id=message.id)
        return change


def _worth_reconnecting(error: TreadleError) -> bool:
    return worth_retrying(error) or (error.status is not None and error.status >= 500)
