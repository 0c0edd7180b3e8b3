"""Run inserts in one round trip: the workflow check, the execution with its node runs and
first event, and the notifications, as one statement committing by itself.

Bulk runs go in one transaction of a few statements, whatever their number: the workflow
checked and held (FOR SHARE, so an archive or a new version waits for the commit), the
executions already made under the batch's idempotency keys looked up, then the new
executions with their node runs, first events and notifications from JSON lists (at most
`MAX_ROWS` rows a statement), then their keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.types.json import Jsonb

from adapters.postgres import hot_sql, mappers
from adapters.postgres.database import is_connection_error
from adapters.postgres.direct import DirectConnections, Transaction
from adapters.postgres.hot_sql import dumps_json
from adapters.postgres.repositories.audit import INSERT_AUDIT, audit_parameters
from adapters.postgres.repositories.batches import by_rows_written
from adapters.postgres.repositories.executions import (
    INSERT_AUDITED_EXECUTION_IF_CURRENT,
    INSERT_EXECUTION_IF_CURRENT,
    INSERTED_COLUMNS,
    insert_parameters,
    many_insert_parameters,
    rows_written,
)
from adapters.postgres.unit_of_work import notification_payload
from application.audit import AuditEntry, with_started
from application.errors import Conflict, StorageError
from application.ports.run_inserts import KeyedRun, NewRun, StoredRun, check_batch
from application.ports.unit_of_work import NewExecution
from domain.execution import Execution

_HOLD_CURRENT_WORKFLOW = (
    "SELECT latest_version FROM workflows WHERE id = %(workflow_id)s"
    " AND workspace_id = %(workspace_id)s AND NOT archived FOR SHARE"
)
_KEYED_EXECUTIONS = (
    "SELECT k.key AS idempotency_key, e.* FROM idempotency_keys k"
    " JOIN executions e ON e.id = k.execution_id"
    " WHERE k.workflow_id = %(workflow_id)s"
    " AND k.key IN (SELECT jsonb_array_elements_text(%(keys)s))"
)
_INSERT_ANNOUNCED = hot_sql.insert_executions(INSERTED_COLUMNS, notifying=True)
# A key taken meanwhile by a concurrent request is skipped, and counted as missing.
_REMEMBER_KEYS = (
    "WITH remembered AS (INSERT INTO idempotency_keys (workflow_id, key, execution_id)"
    " SELECT %(workflow_id)s, r.key, r.execution_id"
    " FROM jsonb_to_recordset(%(keys)s) AS r(key text, execution_id text)"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT count(*) AS remembered FROM remembered"
)


class PostgresRunInserts:
    def __init__(self, connections: DirectConnections) -> None:
        self._connections = connections

    async def insert_if_current(self, run: NewRun, audit: AuditEntry | None = None) -> bool:
        params = insert_parameters(run.execution, run.node_ids, run.events)
        params["latest_version"] = run.latest_version
        params["notifications"] = Jsonb(
            [[channel, notification_payload(payload)] for channel, payload in run.notifications],
            dumps=dumps_json,
        )
        # A retry after a lost connection may find the execution stored by the first try,
        # whose commit landed: that counts as stored (the id was made here, once).
        statement = INSERT_EXECUTION_IF_CURRENT
        if audit is not None:
            statement = INSERT_AUDITED_EXECUTION_IF_CURRENT
            params.update(audit_parameters(audit))
        [answer] = await self._connections.fetch(statement, params)
        return bool(answer["inserted"] or answer["existed"])

    async def insert_all_if_current(
        self, runs: Sequence[KeyedRun], audit: AuditEntry | None = None
    ) -> list[StoredRun] | None:
        if not runs:
            return []
        check_batch(runs)
        for attempt in range(2):
            committing = False
            try:
                async with self._connections.transaction() as transaction:
                    stored = await _insert_all(transaction, runs, audit)
                    committing = stored is not None
                return stored
            except StorageError as error:
                # A connection lost before the COMMIT was sent took the transaction with it:
                # nothing was stored, so sending it again is safe (a lost COMMIT is not).
                if committing or attempt > 0 or not is_connection_error(error):
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._connections.close()


async def _insert_all(
    transaction: Transaction, runs: Sequence[KeyedRun], audit: AuditEntry | None
) -> list[StoredRun] | None:
    """The batch in the open transaction; None when the workflow is not current (the
    caller's exception-free exit then commits an empty transaction)."""
    first = runs[0].run
    workflow_id = first.execution.workflow_id
    held = await transaction.fetch(
        _HOLD_CURRENT_WORKFLOW,
        {"workflow_id": workflow_id, "workspace_id": first.execution.workspace_id},
    )
    if not held or held[0]["latest_version"] != first.latest_version:
        return None
    earlier = await _keyed_executions(transaction, workflow_id, runs)
    new = [keyed for keyed in runs if keyed.idempotency_key not in earlier]
    executions = [NewExecution(k.run.execution, k.run.node_ids, k.run.events) for k in new]
    announced = {k.run.execution.id: k.run.notifications for k in new}
    for batch in by_rows_written(executions, rows_written):
        params = many_insert_parameters(batch)
        # Payloads as JSON objects, which `->>` turns into text in the server: dumping
        # each one apart would cost more Python than the rest of the row.
        notes = [list(note) for one in batch for note in announced[one.execution.id]]
        params["notifications"] = Jsonb(notes, dumps=dumps_json)
        await transaction.fetch(_INSERT_ANNOUNCED, params)
    # In key order, so that two batches sharing keys never wait on each other in a circle.
    keys = sorted(
        (k.idempotency_key, k.run.execution.id) for k in new if k.idempotency_key is not None
    )
    # The keys travel as one JSON parameter: only the rows a statement writes bound a batch.
    for part in by_rows_written(keys, lambda _: 1):
        rows = [{"key": key, "execution_id": execution_id} for key, execution_id in part]
        params = {"workflow_id": workflow_id, "keys": hot_sql.json_rows(rows)}
        [answer] = await transaction.fetch(_REMEMBER_KEYS, params)
        if answer["remembered"] != len(rows):
            raise Conflict("an idempotency key of the batch was taken by a concurrent request")
    if audit is not None and new:
        entry = with_started(audit, [k.run.execution.id for k in new])
        await transaction.fetch(INSERT_AUDIT, audit_parameters(entry))
    return [
        StoredRun(earlier[keyed.idempotency_key], created=False)
        if keyed.idempotency_key in earlier
        else StoredRun(keyed.run.execution, created=True)
        for keyed in runs
    ]


async def _keyed_executions(
    transaction: Transaction, workflow_id: str, runs: Sequence[KeyedRun]
) -> dict[str | None, Execution]:
    """The executions the workflow already has under the batch's keys, by key."""
    keys = [keyed.idempotency_key for keyed in runs if keyed.idempotency_key is not None]
    if not keys:
        return {}
    params = {"workflow_id": workflow_id, "keys": Jsonb(keys, dumps=dumps_json)}
    rows = await transaction.fetch(_KEYED_EXECUTIONS, params)
    return {row["idempotency_key"]: mappers.row_to_execution(row) for row in rows}
