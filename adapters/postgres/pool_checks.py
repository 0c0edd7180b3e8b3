"""Checking pooled connections before use, only when they have sat idle.

SQLAlchemy's `pool_pre_ping` pings on every checkout: one round trip before every
transaction, about a fifth of the CPU of a short one. A connection returned to the pool a
moment ago is almost always still good; one that sat idle may have been closed by the
server, a restart or a proxy. So only connections idle for longer than `IDLE_BEFORE_PING`
are pinged. A connection that broke within that window fails its first statement; the
driver error invalidates the whole pool, so the next checkouts reconnect, and the caller
sees one `StorageError` (an API 503, a worker retry) with nothing written.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

IDLE_BEFORE_PING = 1.0
"""Seconds a pooled connection may sit idle and still be handed out without a ping."""

_IDLE_SINCE = "treadle_idle_since"


def ping_idle_connections(engine: AsyncEngine, idle_before_ping: float = IDLE_BEFORE_PING) -> None:
    """Install the check on `engine`'s pool."""
    pool_events = engine.sync_engine.pool

    @event.listens_for(pool_events, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool_events, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < idle_before_ping:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool drops this connection and checks out another (a fresh one is not
            # pinged: it has no idle time).
            raise exc.DisconnectionError("an idle pooled connection was found closed") from error
