"""The notification port: hearing what other transactions committed (new work, cancel
requests, events), wherever they were committed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

Subscriber = Callable[[str, Mapping[str, Any]], None]
"""Called with (channel, payload) for every committed notification."""


class Notifications(Protocol):
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` for every notification committed from now on, on the channels
        this process listens to; returns a function that unsubscribes it."""
        ...
