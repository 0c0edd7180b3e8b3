"""Reading an execution's live stream (server-sent events), shared by both clients:
the framing of messages, and when and how `watch` reconnects."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

import msgspec

from treadle_client.errors import ConnectionFailed, TreadleError
from treadle_client.models import Event

DEFAULT_MAX_RECONNECTS = 5
"""Reconnections in a row, without an event between them, before `watch` gives up."""


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


class Watch:
    """Where a watch is: the last event seen, and how long to wait before reconnecting."""

    def __init__(
        self,
        execution_id: str,
        after: int,
        reconnect_delay: float | None,
        max_reconnects: int,
    ) -> None:
        self.path = f"/executions/{quote(execution_id, safe='')}/stream"
        self.after = after
        self.ended = False
        self.end_status: str | None = None
        self._fixed_delay = reconnect_delay
        self._server_delay = 2.0
        self._max_reconnects = max_reconnects
        self._failures = 0

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.after:
            headers["Last-Event-ID"] = str(self.after)
        return headers

    def read(self, message: Message) -> Event | None:
        """The event a message carries (None for any other message; `end` ends the watch)."""
        if message.retry_ms is not None:
            self._server_delay = min(message.retry_ms / 1000, 30.0)
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
        self._failures = 0
        return event

    def dropped(self, error: TreadleError | None) -> float:
        """How long to wait before reconnecting after the stream ended without `end` or
        failed with `error`; raises when it is time to give up."""
        if error is not None and not _worth_retrying(error):
            raise error
        self._failures += 1
        if self._failures > self._max_reconnects:
            raise error or ConnectionFailed(
                None, "stream_dropped", f"{self.path} kept closing without its end"
            )
        if error is not None and error.retry_after is not None:
            return error.retry_after
        return self._fixed_delay if self._fixed_delay is not None else self._server_delay


def _worth_retrying(error: TreadleError) -> bool:
    return error.status is None or error.status >= 500 or error.status == 429
