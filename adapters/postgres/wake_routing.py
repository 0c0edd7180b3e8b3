"""Which worker answers a work notification at once.

Every notification reaches every worker. If every idle worker claimed at once, all but one
would find nothing, and with several workers on few cores those lost races cost more than
the runs themselves. So each worker listening for work holds an advisory lock on its LISTEN
connection (class `MEMBERSHIP_CLASS`, a random slot); every few seconds it reads the slots
of all of them from `pg_locks`, and it routes each notification by a hash of the execution
id to one slot. That worker wakes at once; the others wake `sweep_delay` later, in case
that one is busy, gone or not yet known to them, and claim what it left (their claims are
paced, so a sweep that finds nothing spaces the next ones out).

A worker whose slot is not among the members (just started, or its lock was refused)
answers every notification at once, as all workers did before routing.

The same locks tell the workers when one of them died: PostgreSQL drops a session's locks
the moment it ends. Each lease records the slot of the worker that took it
(`executions.lease_member`); when a refresh finds a slot gone that was there before, the
worker expires the leases held under that slot (`EXPIRE_ORPHANED_LEASES` in the queue) and
they are claimed at once, instead of when they lapse. A frozen worker whose session is
alive keeps its lock, and its leases still protect it.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable

from application.ports.clock import Clock

MEMBERSHIP_CLASS = 0x7472_6477
"""The advisory lock class of the processes listening for work."""

MEMBERS = (
    "SELECT objid::bigint AS slot FROM pg_locks"
    " WHERE locktype = 'advisory' AND classid = %(class)s AND objsubid = 2 AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
"""The slots of the processes listening for work, as the server sees them now."""


def new_slot() -> int:
    return random.randint(1, 2**31 - 1)


class WakeRouter:
    """This worker's view of the members listening for work, and the routing it implies;
    `clock` times the readings of the members."""

    def __init__(
        self, slot: int, clock: Clock, *, sweep_delay: float = 0.025, refresh_every: float = 0.5
    ) -> None:
        self.slot = slot
        self._clock = clock
        self.sweep_delay = sweep_delay
        self._refresh_every = refresh_every
        self._members: tuple[int, ...] = ()
        self._refreshed_at = -float("inf")
        self._view_is_current = False
        """False before the first reading and after one that failed: whoever left
        meanwhile is unknown."""

    @property
    def membership(self) -> tuple[int, int]:
        """The advisory lock key this worker holds while it listens."""
        return MEMBERSHIP_CLASS, self.slot

    def designated(self, execution_id: object) -> bool:
        """Whether this worker should claim at once for a notification about the execution."""
        if not isinstance(execution_id, str) or self.slot not in self._members:
            return True
        index = zlib.crc32(execution_id.encode()) % len(self._members)
        return self._members[index] == self.slot

    def members_are(self, slots: Iterable[int]) -> bool:
        """Record the members just read; True when some may have left leases behind: a
        member known before is gone, or this is the first reading (nobody knows who left
        while this worker was not looking)."""
        before, self._members = set(self._members), tuple(sorted(set(slots)))
        self._refreshed_at = self._clock.monotonic()
        current, self._view_is_current = self._view_is_current, True
        return not current or not before <= set(self._members)

    def refresh_started(self) -> None:
        """A reading of the members is on its way: the next is due `refresh_every` later."""
        self._refreshed_at = self._clock.monotonic()

    def refresh_failed(self) -> None:
        """The members could not be read (or acted on): try again after the usual interval,
        and treat the next reading as a first."""
        self._refreshed_at = self._clock.monotonic()
        self._view_is_current = False

    def due_for_refresh(self) -> bool:
        return self.refresh_in() <= 0

    def refresh_in(self) -> float:
        """Seconds until the members are due to be read again (0 when they are due)."""
        return max(self._refreshed_at + self._refresh_every - self._clock.monotonic(), 0.0)
