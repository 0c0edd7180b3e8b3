"""Concurrency slots and rate windows: one row per (workflow, key), each changed by one
upsert that locks it, so concurrent transactions on the same key take turns."""

from __future__ import annotations

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
