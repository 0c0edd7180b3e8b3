"""The PostgreSQL work queue: leases with fencing tokens on the executions table.

A claim is one statement: lock the first claimable rows with FOR UPDATE SKIP LOCKED and
lease them, bumping each fencing token. Claimable means what the in-memory queue says:
not under a live lease, and pending and due, waiting with a passed wake time, or running
(its previous lease expired). Claims and heartbeats commit without waiting for the WAL
flush: losing one in a crash only means the execution is claimed again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from adapters.postgres.direct import DirectConnection
from adapters.postgres.listener import PostgresListener
from adapters.postgres.mappers import as_utc
from adapters.postgres.tables import CLAIMABLE_PREDICATE
from adapters.postgres.unit_of_work import notification_payload
from adapters.postgres.wake_routing import MEMBERS, MEMBERSHIP_CLASS, WakeRouter
from application.creation import WORK_CHANNEL
from application.errors import StorageError
from application.ports.clock import Clock
from application.records import Lease

# Rows are found through the claimable index by due time up to now plus this allowance:
# a pending execution's due time is its created_at, written by another machine's clock,
# so a worker whose clock lags a little must still see it. Due-ness itself is then
# checked exactly against the worker's clock.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)

# Every statement here runs as its own transaction (autocommit: one round trip). Claims
# and heartbeats turn synchronous commit off for themselves with a local set_config in a
# one-row CTE joined into the UPDATE.
_ASYNC_COMMIT = "no_flush AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))"

_CLAIM = f"""
WITH {_ASYNC_COMMIT},
due AS (
    SELECT id FROM executions
    WHERE ({CLAIMABLE_PREDICATE})
      AND coalesce(wake_at, created_at) <= %(horizon)s
      AND (wake_at IS NULL OR wake_at <= %(now)s OR status = 'running')
      AND (lease_expires_at IS NULL OR lease_expires_at <= %(now)s)
    ORDER BY coalesce(wake_at, created_at), id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE executions AS e
SET lease_owner = %(worker)s, lease_token = e.lease_token + 1, lease_expires_at = %(expires)s
FROM due, no_flush WHERE e.id = due.id
RETURNING e.id, e.lease_token, e.lease_expires_at, e.cancel_requested,
          coalesce(e.wake_at, e.created_at) AS due_at
"""

# The rows are locked in id order first, as the group committer locks them: two statements
# that lock several rows in different orders could each wait for the other.
_HEARTBEAT = f"""
WITH {_ASYNC_COMMIT},
held AS (
    SELECT * FROM unnest(%(ids)s::text[], %(tokens)s::bigint[], %(owners)s::text[])
        AS held(id, token, owner)
),
locked AS MATERIALIZED (
    SELECT e.id FROM executions AS e JOIN held ON e.id = held.id
    ORDER BY e.id FOR UPDATE OF e
)
UPDATE executions AS e SET lease_expires_at = %(expires)s
FROM held, locked, no_flush
WHERE e.id = held.id AND e.id = locked.id
  AND e.lease_token = held.token AND e.lease_owner = held.owner
  AND e.lease_expires_at > %(now)s
RETURNING e.id, e.lease_token, e.lease_owner, e.lease_expires_at, e.cancel_requested
"""

# Released rows are announced in the same statement; PostgreSQL delivers on commit.
_RELEASE = """
WITH released AS (
    UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL
    WHERE id = %(id)s AND lease_token = %(token)s AND lease_owner = %(owner)s
    RETURNING id
)
SELECT pg_notify(%(channel)s, %(payload)s) FROM released
"""

_NEXT_WAKE = f"""
SELECT least(
    (SELECT coalesce(wake_at, created_at) FROM executions
     WHERE ({CLAIMABLE_PREDICATE}) AND coalesce(wake_at, created_at) > %(now)s
     ORDER BY coalesce(wake_at, created_at), id LIMIT 1),
    (SELECT min(lease_expires_at) FROM executions
     WHERE lease_expires_at > %(now)s AND status IN ('pending', 'waiting', 'running'))
) AS next_wake
"""


class PostgresWorkQueue:
    def __init__(
        self,
        statements: DirectConnection,
        clock: Clock,
        listener: PostgresListener,
        router: WakeRouter | None = None,
    ) -> None:
        """With a `router`, a work notification wakes this worker at once only when the
        router designates it (see `wake_routing`); `listener` must hold its membership."""
        self._statements = statements
        self._clock = clock
        self._listener = listener
        self._router = router
        self._sweep: asyncio.TimerHandle | None = None
        if router is not None:
            listener.on_work = self._route

    async def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
        await self._statements.close()

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        now = self._clock.now()
        params = {
            "now": now,
            "horizon": now + CLOCK_SKEW_ALLOWANCE,
            "limit": limit,
            "worker": worker_id,
            "expires": now + lease_for,
        }
        rows = await self._statements.fetch(_CLAIM, params)
        rows.sort(key=lambda row: (row["due_at"], row["id"]))
        return [
            Lease(row["id"], worker_id, row["lease_token"], as_utc(row["lease_expires_at"]))
            for row in rows
        ]

    async def heartbeat(self, leases: Sequence[Lease], lease_for: timedelta) -> list[Lease]:
        if not leases:
            return []
        now = self._clock.now()
        params = {
            "now": now,
            "expires": now + lease_for,
            "ids": [lease.execution_id for lease in leases],
            "tokens": [lease.token for lease in leases],
            "owners": [lease.worker_id for lease in leases],
        }
        kept = {row["id"]: row for row in await self._statements.fetch(_HEARTBEAT, params)}
        return [
            Lease(
                lease.execution_id,
                lease.worker_id,
                lease.token,
                as_utc(kept[lease.execution_id]["lease_expires_at"]),
                kept[lease.execution_id]["cancel_requested"],
            )
            for lease in leases
            if lease.execution_id in kept
        ]

    async def release(self, lease: Lease) -> None:
        held = {"id": lease.execution_id, "token": lease.token, "owner": lease.worker_id}
        announced = {"execution_id": lease.execution_id}  # routed like any run's notification
        wake = {"channel": WORK_CHANNEL, "payload": notification_payload(announced)}
        await self._statements.fetch(_RELEASE, {**held, **wake})

    def _route(self, payload: Mapping[str, Any]) -> None:
        assert self._router is not None
        if self._router.designated(payload.get("execution_id")):
            self._listener.work_available.set()
        elif self._sweep is None:
            delay = self._router.sweep_delay
            self._sweep = asyncio.get_running_loop().call_later(delay, self._sweep_now)

    def _sweep_now(self) -> None:
        self._sweep = None
        self._listener.work_available.set()

    async def _refresh_members(self) -> None:
        assert self._router is not None
        # The database being away is the worker loop's business; keep the last view.
        with contextlib.suppress(StorageError):
            rows = await self._statements.fetch(MEMBERS, {"class": MEMBERSHIP_CLASS})
            self._router.members_are(row["slot"] for row in rows)

    async def wait_for_work(self, timeout: float) -> bool:
        if self._router is not None and self._router.due_for_refresh():
            await self._refresh_members()
        event = self._listener.work_available
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        woke = event.is_set()
        event.clear()
        return woke

    async def next_wake_in(self, max_seconds: float) -> float:
        now = self._clock.now()
        [row] = await self._statements.fetch(_NEXT_WAKE, {"now": now})
        found = row["next_wake"]
        if found is None:
            return max_seconds
        return min(max_seconds, float((found - now).total_seconds()))
