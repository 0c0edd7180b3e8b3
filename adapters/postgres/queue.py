"""The PostgreSQL work queue: leases with fencing tokens on the executions table.

A claim is one statement: lock the first claimable rows with FOR UPDATE SKIP LOCKED and
lease them, bumping each fencing token. Claimable means what the in-memory queue says:
not under a live lease, and pending and due, waiting with a passed wake time, or running
(its previous lease expired). Claims and heartbeats commit without waiting for the WAL
flush: losing one in a crash only means the execution is claimed again.

A worker's claims record its membership slot (`wake_routing`); when its membership lock is
gone (its process or its session ended), a worker that notices expires those leases and
announces the executions, so they are resumed in about a second rather than when the
leases lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from adapters.postgres.direct import DirectConnection
from adapters.postgres.listener import PostgresListener
from adapters.postgres.mappers import as_utc
from adapters.postgres.tables import CLAIMABLE_PREDICATE
from adapters.postgres.wake_routing import MEMBERS, MEMBERSHIP_CLASS, WakeRouter
from application.creation import WORK_CHANNEL
from application.errors import StorageError
from application.ports.clock import Clock
from application.records import Lease
from domain.priority import DEFAULT_QUEUE, PRIORITY_LEVELS

# Rows are found through the claimable index by due time up to now plus this allowance:
# a pending execution's due time is its created_at, written by another machine's clock,
# so a worker whose clock lags a little must still see it. Due-ness itself is then
# checked exactly against the worker's clock.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)

# Every statement here runs as its own transaction (autocommit: one round trip). Claims
# and heartbeats turn synchronous commit off for themselves with a local set_config in a
# one-row CTE joined into the UPDATE.
_ASYNC_COMMIT = "no_flush AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))"

# The claimable rows are walked one priority at a time, highest first, each in due order
# (a LATERAL subquery per level, run only while the claim still wants rows): an index on
# (priority, due) read as a whole in one ORDER BY would have to read past every parked
# execution (due later, but claimable rows all the same) of each priority to reach the
# next. A worker serving every queue reads `executions_claimable_idx`, one serving some
# queues `executions_queue_claimable_idx`.
_LEVELS = "unnest(ARRAY[" + ", ".join(str(level) for level in PRIORITY_LEVELS) + "])"
_ANY_QUEUE = ""
_ONE_QUEUE = "AND queue = %(queue)s"
_SOME_QUEUES = "AND queue = ANY(%(queues)s::text[])"


def _claim(queues: str) -> str:
    return f"""
WITH {_ASYNC_COMMIT},
due AS MATERIALIZED (
    SELECT picked.id FROM {_LEVELS} AS levels(level)
    CROSS JOIN LATERAL (
        SELECT id FROM executions
        WHERE ({CLAIMABLE_PREDICATE}) AND priority = levels.level {queues}
          AND coalesce(wake_at, created_at) <= %(horizon)s
          AND (wake_at IS NULL OR wake_at <= %(now)s OR status = 'running')
          AND (lease_expires_at IS NULL OR lease_expires_at <= %(now)s)
        ORDER BY coalesce(wake_at, created_at), id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AS picked
    LIMIT %(limit)s
)
UPDATE executions AS e
SET lease_owner = %(worker)s, lease_token = e.lease_token + 1, lease_expires_at = %(expires)s,
    lease_member = %(member)s
FROM due, no_flush WHERE e.id = due.id
RETURNING e.id, e.lease_token, e.lease_expires_at, e.cancel_requested, e.priority,
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

# Released rows are announced in the same statement (with their queue, so that only the
# workers serving it wake); PostgreSQL delivers on commit.
_RELEASE = """
WITH released AS (
    UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL, lease_member = NULL
    WHERE id = %(id)s AND lease_token = %(token)s AND lease_owner = %(owner)s
    RETURNING id, queue
)
SELECT pg_notify(%(channel)s, json_build_object('execution_id', id, 'queue', queue)::text)
FROM released
"""

# The leases of workers whose membership lock is gone. The members are read in the same
# statement, after its snapshot: a worker whose claim this statement sees took its lock
# before that claim, so only a worker that has since died is missing. The token condition
# leaves alone a row that a live worker claimed meanwhile. The expiry is set back by the
# clock-skew allowance so that a claimer whose clock lags this one's finds it expired too;
# each freed execution is announced like a released one (routed).
EXPIRE_ORPHANED_LEASES = f"""
WITH members AS MATERIALIZED ({MEMBERS}),
orphaned AS MATERIALIZED (
    SELECT id, lease_token FROM executions
    WHERE lease_expires_at > %(now)s AND lease_member IS NOT NULL
      AND lease_member NOT IN (SELECT slot FROM members)
),
expired AS (
    UPDATE executions AS e SET lease_expires_at = %(expired)s
    FROM orphaned WHERE e.id = orphaned.id AND e.lease_token = orphaned.lease_token
    RETURNING e.id, e.queue
)
SELECT id, pg_notify(%(channel)s, json_build_object('execution_id', id, 'queue', queue)::text)
FROM expired
"""


def _next_wake(queues: str) -> str:
    """The earliest future due time of a claimable row (the earliest of each priority's
    first), or lease expiry, in the worker's queues."""
    return f"""
SELECT least(
    (SELECT min(first.due) FROM {_LEVELS} AS levels(level)
     CROSS JOIN LATERAL (
        SELECT coalesce(wake_at, created_at) AS due FROM executions
        WHERE ({CLAIMABLE_PREDICATE}) AND priority = levels.level {queues}
          AND coalesce(wake_at, created_at) > %(now)s
        ORDER BY coalesce(wake_at, created_at), id LIMIT 1
     ) AS first),
    (SELECT min(lease_expires_at) FROM executions
     WHERE lease_expires_at > %(now)s AND status IN ('pending', 'waiting', 'running') {queues})
) AS next_wake
"""


# A worker that runs kinds from installed packages claims only executions needing no other
# (`required_kinds`); every worker states what it has, so one without a package leaves
# those executions to the workers that have it.
_HAS_KINDS = "AND required_kinds <@ %(kinds)s::text[]"
_QUEUE_FILTERS = {"any": _ANY_QUEUE, "one": _ONE_QUEUE, "some": _SOME_QUEUES}


@functools.cache
def _statements(queues: str, kinds: bool) -> tuple[str, str]:
    """The claim and next-wake statements for a worker serving `queues` ("any", "one",
    "some"), that states the kinds it has or not."""
    fragment = _QUEUE_FILTERS[queues] + (f" {_HAS_KINDS}" if kinds else "")
    return _claim(fragment), _next_wake(fragment)


class PostgresWorkQueue:
    def __init__(
        self,
        statements: DirectConnection,
        clock: Clock,
        listener: PostgresListener,
        router: WakeRouter | None = None,
        queues: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> None:
        """With a `router`, a work notification wakes this worker at once only when the
        router designates it (see `wake_routing`); `listener` must hold its membership.

        With `queues`, this worker claims only executions put on those queues (and wakes
        only for them); without, from every queue. With `kinds`, it claims only executions whose
        installed kinds (`required_kinds`) are all among them; without, any execution."""
        self._statements = statements
        self._clock = clock
        self._listener = listener
        self._router = router
        self._queues = frozenset(queues) if queues else None
        self._sweep: asyncio.TimerHandle | None = None
        self._refreshing: asyncio.Task[None] | None = None
        kind = "any" if not queues else "one" if len(self._queues or ()) == 1 else "some"
        self._claim_sql, self._next_wake_sql = _statements(kind, kinds is not None)
        self._queue_params: dict[str, Any] = {}
        if queues:
            self._queue_params = {"queue": next(iter(queues)), "queues": sorted(set(queues))}
        if kinds is not None:
            self._queue_params["kinds"] = sorted(set(kinds))
        if router is not None or self._queues is not None:
            listener.on_work = self._route

    async def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing
        await self._statements.close()

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        if self._router is not None:
            # A busy worker claims without waiting for work in between: it reads the
            # members here, so that a dead worker's leases are expired before this claim.
            await self._refresh_if_due(self._router)
        now = self._clock.now()
        params = {
            "now": now,
            "horizon": now + CLOCK_SKEW_ALLOWANCE,
            "limit": limit,
            "worker": worker_id,
            "expires": now + lease_for,
            "member": self._member_slot(),
            **self._queue_params,
        }
        rows = await self._statements.fetch(self._claim_sql, params)
        rows.sort(key=lambda row: (-row["priority"], row["due_at"], row["id"]))
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
        # Routed like any run's notification.
        await self._statements.fetch(_RELEASE, {**held, "channel": WORK_CHANNEL})

    def _member_slot(self) -> int | None:
        """The slot to record on this worker's leases: only while its lock is held, so that
        a worker not (yet) among the members never looks dead to the others."""
        if self._router is None or not self._listener.holds_membership:
            return None
        return self._router.slot

    def _route(self, payload: Mapping[str, Any]) -> None:
        if self._queues is not None and payload.get("queue", DEFAULT_QUEUE) not in self._queues:
            return  # work this worker never claims
        if self._router is None or self._router.designated(payload.get("execution_id")):
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
        try:
            rows = await self._statements.fetch(MEMBERS, {"class": MEMBERSHIP_CLASS})
            if self._router.members_are(row["slot"] for row in rows):
                await self.expire_orphaned_leases()
        except StorageError:
            self._router.refresh_failed()

    async def _refresh_if_due(self, router: WakeRouter) -> float:
        """Read the members when due; seconds until the next reading is due.

        The reading runs as a task of its own, shielded: the worker loop cancels a wait for
        work whenever a slot frees, and a busy worker would otherwise never finish a sweep.
        """
        if router.due_for_refresh() and (self._refreshing is None or self._refreshing.done()):
            router.refresh_started()
            self._refreshing = asyncio.create_task(self._refresh_members())
            await asyncio.shield(self._refreshing)
        return router.refresh_in()

    async def expire_orphaned_leases(self) -> list[str]:
        """Expire the leases of workers whose membership lock is gone and announce their
        executions; returns their ids."""
        now = self._clock.now()
        params = {
            "class": MEMBERSHIP_CLASS,
            "now": now,
            "expired": now - CLOCK_SKEW_ALLOWANCE,
            "channel": WORK_CHANNEL,
        }
        return [row["id"] for row in await self._statements.fetch(EXPIRE_ORPHANED_LEASES, params)]

    async def wait_for_work(self, timeout: float) -> bool:
        # The members are read again every `refresh_every` while waiting, so that a dead
        # worker's executions are taken within about that long.
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        event = self._listener.work_available
        while True:
            wait = end - loop.time()
            if self._router is not None:
                wait = min(wait, await self._refresh_if_due(self._router))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), max(wait, 0.0))
            if event.is_set() or loop.time() >= end:
                break
        woke = event.is_set()
        event.clear()
        return woke

    async def next_wake_in(self, max_seconds: float) -> float:
        now = self._clock.now()
        params = {"now": now, **self._queue_params}
        [row] = await self._statements.fetch(self._next_wake_sql, params)
        found = row["next_wake"]
        if found is None:
            return max_seconds
        return min(max_seconds, float((found - now).total_seconds()))
