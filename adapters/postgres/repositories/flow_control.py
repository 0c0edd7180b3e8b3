"""Concurrency slots and rate windows: one row per (workflow, key), each changed by one
upsert that locks it, so concurrent transactions on the same key take turns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.postgres.database import Db

# The conditional upsert returns a row only when it took a slot; an absent row is 0 taken.
_ACQUIRE_SLOT = """
WITH taken AS (
    INSERT INTO concurrency_slots AS s (workflow_id, key, running)
    VALUES (%(workflow_id)s, %(key)s, 1)
    ON CONFLICT (workflow_id, key) DO UPDATE SET running = s.running + 1
    WHERE s.running < %(limit)s
    RETURNING running
)
SELECT (SELECT running FROM taken) AS taken,
       (SELECT running FROM concurrency_slots
        WHERE workflow_id = %(workflow_id)s AND key = %(key)s) AS running
"""
_RELEASE_SLOT = """
UPDATE concurrency_slots SET running = greatest(running - 1, 0)
WHERE workflow_id = %(workflow_id)s AND key = %(key)s
"""
# A newer window starts the count again; within the window, one more while below the limit.
_TAKE_RATE = """
INSERT INTO rate_windows AS w (workflow_id, key, window_start, started)
VALUES (%(workflow_id)s, %(key)s, %(window_start)s, 1)
ON CONFLICT (workflow_id, key) DO UPDATE SET
    window_start = greatest(w.window_start, excluded.window_start),
    started = CASE WHEN w.window_start < excluded.window_start THEN 1 ELSE w.started + 1 END
WHERE w.window_start < excluded.window_start OR w.started < %(limit)s
RETURNING started
"""


# Missing rows are created first (in key order: two batches creating the same rows wait
# for each other, in that order too), then all are locked in key order.
_LOCK_SLOTS = """
WITH wanted AS (
    SELECT DISTINCT w, k FROM unnest(%(workflows)s::text[], %(keys)s::text[]) AS x(w, k)
), created AS (
    INSERT INTO concurrency_slots (workflow_id, key, running)
    SELECT w, k, 0 FROM wanted ORDER BY w, k
    ON CONFLICT (workflow_id, key) DO NOTHING
)
SELECT 1 FROM concurrency_slots s JOIN wanted ON s.workflow_id = wanted.w AND s.key = wanted.k
ORDER BY s.workflow_id, s.key FOR UPDATE OF s
"""
_LOCK_RATES = """
WITH wanted AS (
    SELECT DISTINCT w, k FROM unnest(%(workflows)s::text[], %(keys)s::text[]) AS x(w, k)
), created AS (
    INSERT INTO rate_windows (workflow_id, key, window_start, started)
    SELECT w, k, '-infinity', 0 FROM wanted ORDER BY w, k
    ON CONFLICT (workflow_id, key) DO NOTHING
)
SELECT 1 FROM rate_windows r JOIN wanted ON r.workflow_id = wanted.w AND r.key = wanted.k
ORDER BY r.workflow_id, r.key FOR UPDATE OF r
"""


class PostgresFlowControl:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def acquire_slot(self, workflow_id: str, key: str, limit: int) -> tuple[bool, int]:
        params = {"workflow_id": workflow_id, "key": key, "limit": limit}
        [row] = await self._db.fetch(_ACQUIRE_SLOT, params)
        if row["taken"] is not None:
            return True, int(row["taken"])
        return False, int(row["running"] or 0)

    async def release_slot(self, workflow_id: str, key: str) -> None:
        await self._db.fetch(_RELEASE_SLOT, {"workflow_id": workflow_id, "key": key})

    async def lock_keys(
        self, slots: Sequence[tuple[str, str]], rates: Sequence[tuple[str, str]]
    ) -> None:
        for statement, pairs in ((_LOCK_SLOTS, slots), (_LOCK_RATES, rates)):
            if pairs:
                params = {"workflows": [w for w, _ in pairs], "keys": [k for _, k in pairs]}
                await self._db.fetch(statement, params)

    async def take_rate(
        self, workflow_id: str, key: str, window_start: datetime, limit: int
    ) -> bool:
        params = {
            "workflow_id": workflow_id,
            "key": key,
            "window_start": window_start,
            "limit": limit,
        }
        return bool(await self._db.fetch(_TAKE_RATE, params))
