"""Run inserts in one round trip: the workflow check, the execution with its node runs and
first event, and the notifications, as one statement committing by itself."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from adapters.postgres.direct import DirectConnections
from adapters.postgres.hot_sql import dumps_json
from adapters.postgres.repositories.executions import (
    INSERT_EXECUTION_IF_CURRENT,
    insert_parameters,
)
from adapters.postgres.unit_of_work import notification_payload
from application.ports.run_inserts import NewRun


class PostgresRunInserts:
    def __init__(self, connections: DirectConnections) -> None:
        self._connections = connections

    async def insert_if_current(self, run: NewRun) -> bool:
        params = insert_parameters(run.execution, run.node_ids, run.events)
        params["latest_version"] = run.latest_version
        params["notifications"] = Jsonb(
            [[channel, notification_payload(payload)] for channel, payload in run.notifications],
            dumps=dumps_json,
        )
        # A retry after a lost connection may find the execution stored by the first try,
        # whose commit landed: that counts as stored (the id was made here, once).
        [answer] = await self._connections.fetch(INSERT_EXECUTION_IF_CURRENT, params)
        return bool(answer["inserted"] or answer["existed"])

    async def close(self) -> None:
        await self._connections.close()
