"""Executions: insert with their node runs, fenced compare-and-set saves, and look-ups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Integer, Text, bindparam, exists, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from adapters.postgres import hot_sql, mappers
from adapters.postgres.database import Db
from adapters.postgres.repositories.batches import MAX_ROWS, by_rows_written, in_batches
from adapters.postgres.repositories.history import (
    PostgresEvents,
    PostgresNodeRuns,
    event_rows,
    node_run_rows,
)
from adapters.postgres.tables import ACTIVE_STATUSES, executions, idempotency_keys
from application.errors import Conflict, LeaseLost, StaleExecution
from application.ports.unit_of_work import (
    STEP_RETRY_FIRST_SECONDS,
    STEP_RETRY_MAX_SECONDS,
    ChildPosition,
    EventBatch,
    FencedSave,
    ItemChild,
    ItemProgress,
    ItemsAt,
    NewExecution,
    StepFailure,
)
from application.records import Lease
from domain.events import DomainEvent
from domain.execution import Execution
from domain.node_run import NodeRun
from domain.status import ExecutionStatus

# Each predicate repeats its partial index's own (see tables.py), so the index is used.
_OF_NODE = (
    "parent_execution_id = %(parent)s AND parent_node_id = %(node)s AND item_index IS NOT NULL"
)
_ITEM_PROGRESS = f"""
SELECT
  (SELECT count(*) FROM executions
   WHERE {_OF_NODE} AND status IN ('pending', 'running', 'waiting')) AS active,
  (SELECT jsonb_build_object('index', item_index, 'id', id, 'status', status, 'error', error)
   FROM executions
   WHERE {_OF_NODE} AND status IN ('failed', 'cancelled', 'timed_out')
     AND item_index < %(start)s
   ORDER BY item_index LIMIT 1) AS failed,
  (SELECT coalesce(jsonb_agg(
       jsonb_build_object('index', item_index, 'id', id, 'status', status)
       ORDER BY item_index), '[]'::jsonb)
   FROM executions
   WHERE {_OF_NODE} AND item_index >= %(start)s AND item_index < %(end)s) AS ahead
"""
# The predicate is the partial index's own (see tables.py); SKIP LOCKED passes over one
# another transaction holds (a cancel in flight), which must not block a slot's hand-on.
_NEXT_QUEUED = """
SELECT * FROM executions
WHERE workflow_id = %(workflow_id)s AND flow_key = %(key)s
  AND status = 'waiting' AND NOT holds_slot AND (waiting_reason ->> 'kind') = 'concurrency'
ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
"""
_ITEM_OUTCOMES = (
    f"SELECT item_index, id, status, output, error FROM executions WHERE {_OF_NODE}"
    " ORDER BY item_index"
)
_ACTIVE_ITEMS = (
    f"SELECT id FROM executions WHERE {_OF_NODE}"
    " AND status IN ('pending', 'running', 'waiting') ORDER BY id"
)


def _item_child(found: Mapping[str, Any]) -> ItemChild:
    status = ExecutionStatus(found["status"])
    return ItemChild(found["index"], found["id"], status, None, found.get("error"))


_LEASE_COLUMNS = (
    executions.c.seq,
    executions.c.lease_owner,
    executions.c.lease_token,
    executions.c.lease_expires_at,
)


# The hot statements are built once with bind parameters: building a SQLAlchemy expression
# per call costs more CPU than the database spends running it.
_LEASE_HOLDER = ("lease_owner", "lease_expires_at")
# The step-failure count is the worker's bookkeeping, not the execution's state: it has
# statements of its own.
_STEP_FAILURE_COLUMNS = ("step_failures", "last_step_failure")
# Set when an execution is created and never changed: inserted, not saved again.
_CREATION_COLUMNS = ("priority", "queue", "required_kinds")
_ROW_COLUMNS = [
    c.name
    for c in executions.c
    if c.name
    not in (
        "id",
        "lease_token",
        "lease_member",
        *_LEASE_HOLDER,
        *_STEP_FAILURE_COLUMNS,
        *_CREATION_COLUMNS,
    )
]
# Reads and the fenced save go straight to the driver (see `hot_sql`): they run on every step.
_SAVE_MANY = hot_sql.save_executions(_ROW_COLUMNS)
_SAVE_WITH_HISTORY = hot_sql.save_with_history(_ROW_COLUMNS)
_LOCK = hot_sql.GET_EXECUTION + " FOR UPDATE"


INSERTED_COLUMNS = ["id", *_ROW_COLUMNS, *_CREATION_COLUMNS]
_INSERT_EXECUTION = hot_sql.insert_execution(INSERTED_COLUMNS, guarded=False)
INSERT_EXECUTION_IF_CURRENT = hot_sql.insert_execution(INSERTED_COLUMNS, guarded=True)
INSERT_AUDITED_EXECUTION_IF_CURRENT = hot_sql.insert_execution(
    INSERTED_COLUMNS, guarded=True, audited=True
)
_INSERT_MANY = hot_sql.insert_executions(INSERTED_COLUMNS)
_FRESH_RUN = NodeRun("")


def rows_written(new: NewExecution) -> int:
    """The rows inserting one execution writes: its own, its node runs, its events."""
    return 1 + len(new.node_ids) + len(new.first_events)


def many_insert_parameters(new: Sequence[NewExecution]) -> dict[str, Any]:
    """The parameters of `hot_sql.insert_executions`: every row as JSON, one list a table."""
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for one in new:
        execution = one.execution
        row = mappers.execution_to_row(execution)
        rows.append({name: row[name] for name in INSERTED_COLUMNS})
        runs.extend(
            {
                "execution_id": execution.id,
                "node_id": node_id,
                "position": position,
                "status": _FRESH_RUN.status.value,
                "attempt": _FRESH_RUN.attempt,
            }
            for position, node_id in enumerate(one.node_ids)
        )
        history.extend(
            {
                "execution_id": execution.id,
                "seq": seq,
                "type": event.type,
                "node_id": event.node_id,
                "attempt": event.attempt,
                "payload": dict(event.payload),
                "created_at": execution.created_at,
            }
            for seq, event in enumerate(one.first_events, start=1)
        )
    return {
        "executions": hot_sql.json_rows(rows),
        "runs": hot_sql.json_rows(runs),
        "events": hot_sql.json_rows(history),
    }


def insert_parameters(
    execution: Execution, node_ids: Sequence[str], first_events: Sequence[DomainEvent]
) -> dict[str, Any]:
    """The parameters of `hot_sql.insert_execution`'s statements."""
    return {
        **hot_sql.bind("executions", mappers.execution_to_row(execution)),
        "node_ids": Jsonb(list(node_ids), dumps=hot_sql.dumps_json),
        "events": Jsonb(
            [
                {
                    "type": event.type,
                    "node_id": event.node_id,
                    "attempt": event.attempt,
                    "payload": dict(event.payload),
                }
                for event in first_events
            ],
            dumps=hot_sql.dumps_json,
        ),
    }


# The lease holder's token and owner, not its expiry: a step may fail after running out
# its lease, and still counts unless another worker has taken over.
_RECORD_STEP_FAILURE = (
    "WITH counted AS (SELECT id, CASE WHEN last_step_failure->>'kind' = %(kind)s"
    " THEN step_failures + 1 ELSE 1 END AS count FROM executions"
    " WHERE id = %(id)s AND lease_token = %(token)s AND lease_owner = %(owner)s FOR UPDATE)"
    " UPDATE executions AS e SET step_failures = counted.count,"
    " last_step_failure = %(failure)s, lease_expires_at = least(e.lease_expires_at,"
    " %(now)s + make_interval(secs => least(%(first)s * power(2, counted.count - 1), %(max)s)))"
    " FROM counted WHERE e.id = counted.id"
    " RETURNING e.step_failures"
)
_STEP_FAILURES_OF = (
    "SELECT id, step_failures, last_step_failure FROM executions"
    " WHERE id = ANY(%(ids)s) AND step_failures > 0"
)
_CLEAR_STEP_FAILURES = (
    "UPDATE executions SET step_failures = 0, last_step_failure = NULL"
    " WHERE id = %(id)s AND step_failures > 0"
)
_FIND_BY_IDEMPOTENCY_KEY = (
    select(executions)
    .join(idempotency_keys, idempotency_keys.c.execution_id == executions.c.id)
    .where(
        idempotency_keys.c.workflow_id == bindparam("workflow_id"),
        idempotency_keys.c.key == bindparam("key"),
    )
)
# DO NOTHING keeps the transaction usable, as the in-memory adapter's is.
_REMEMBER_IDEMPOTENCY_KEY = (
    insert(idempotency_keys)
    .values(
        workflow_id=bindparam("workflow_id"),
        key=bindparam("key"),
        execution_id=bindparam("execution_id"),
    )
    .on_conflict_do_nothing(index_elements=["workflow_id", "key"])
    .returning(idempotency_keys.c.key)
)


# The order of an execution's children (`ChildPosition`): node ids compare byte by byte,
# as Python compares them in the in-memory adapter, whatever the database's collation.
_CHILD_ORDER = (
    executions.c.parent_node_id.collate("C"),
    func.coalesce(executions.c.item_index, -1),
    executions.c.created_at,
    executions.c.id,
)


def _child_key(position: ChildPosition) -> Any:
    return tuple_(
        literal(position.node_id, Text).collate("C"),
        literal(position.item_index, Integer),
        literal(position.created_at, executions.c.created_at.type),
        literal(position.id, executions.c.id.type),
    )


class PostgresExecutions:
    def __init__(self, db: Db) -> None:
        self._db = db
        self._locked_failures: dict[str, StepFailure | None] = {}
        """The step-failure columns of the rows this transaction has locked: they cannot
        change until it ends, so `step_failures_of` need not read them again."""

    async def add(
        self,
        execution: Execution,
        node_ids: Sequence[str],
        first_events: Sequence[DomainEvent] = (),
    ) -> None:
        params = insert_parameters(execution, node_ids, first_events)
        await self._db.fetch(_INSERT_EXECUTION, params)

    async def add_many(self, new: Sequence[NewExecution]) -> None:
        for batch in by_rows_written(list(new), rows_written):
            await self._db.fetch(_INSERT_MANY, many_insert_parameters(batch))

    async def get(self, execution_id: str) -> Execution | None:
        rows = await self._db.fetch(hot_sql.GET_EXECUTION, {"execution_id": execution_id})
        return mappers.row_to_execution(rows[0]) if rows else None

    async def get_many(self, execution_ids: Sequence[str]) -> dict[str, Execution]:
        if not execution_ids:
            return {}
        rows = await self._db.fetch(hot_sql.GET_EXECUTIONS, {"ids": list(execution_ids)})
        return {row["id"]: mappers.row_to_execution(row) for row in rows}

    async def lock(self, execution_id: str) -> Execution | None:
        rows = await self._db.fetch(_LOCK, {"execution_id": execution_id})
        return mappers.row_to_execution(rows[0]) if rows else None

    async def lock_leased(self, leases: Sequence[Lease]) -> dict[str, Execution]:
        if not leases:
            return {}
        ids = [lease.execution_id for lease in leases]
        return self._held(leases, await self._db.fetch(hot_sql.LOCK_MANY, {"ids": ids}))

    async def lock_leased_with_runs(
        self, leases: Sequence[Lease], runs_of: Sequence[str]
    ) -> tuple[dict[str, Execution], dict[str, dict[str, NodeRun]]]:
        if not runs_of:
            return await self.lock_leased(leases), {}
        # The node runs are read by the locking statement itself. Its snapshot is taken
        # before the locks, but no writer can have changed them in between: only the
        # lease holder writes a live execution's node runs (other writers end it, or only
        # flag it), and the claim that made this worker the holder skipped rows locked by
        # anyone else.
        params = {"ids": [lease.execution_id for lease in leases], "runs_of": list(runs_of)}
        rows = await self._db.fetch(hot_sql.LOCK_MANY_WITH_RUNS, params)
        held = self._held(leases, rows)
        runs = {
            row["id"]: {
                run.node_id: run for run in map(mappers.json_to_node_run, row["node_runs_json"])
            }
            for row in rows
            if row["id"] in held and row["node_runs_json"] is not None
        }
        return held, runs

    def _held(
        self, leases: Sequence[Lease], rows: Sequence[Mapping[str, Any]]
    ) -> dict[str, Execution]:
        """The locked rows still under their lease, as executions."""
        self._locked_failures.update((row["id"], _step_failure(row)) for row in rows)
        # Judged here rather than in SQL: the plain look-up by id costs the server less than
        # joining the leases in; a row locked for nothing is let go at the transaction's end.
        now = self._db.clock.now()
        wanted = {(lease.execution_id, lease.token, lease.worker_id) for lease in leases}
        return {
            row["id"]: mappers.row_to_execution(row)
            for row in rows
            if (row["id"], row["lease_token"], row["lease_owner"]) in wanted
            and row["lease_expires_at"] is not None
            and row["lease_expires_at"] > now
        }

    async def save(self, execution: Execution, *, expected_seq: int, lease: Lease | None) -> None:
        await self.save_many([FencedSave(execution, expected_seq, lease)])

    async def save_many(self, saves: Sequence[FencedSave]) -> None:
        now = self._db.clock.now()
        for part in in_batches(saves, 1):
            rows = hot_sql.json_rows(self._fenced_row(save, now) for save in part)
            saved = {row["id"] for row in await self._db.fetch(_SAVE_MANY, {"rows": rows})}
            for save in part:
                if save.execution.id not in saved:
                    await self._explain_rejected_save(save.execution.id, save.lease, now)

    async def save_with_history(
        self,
        saves: Sequence[FencedSave],
        runs: Mapping[str, Sequence[NodeRun]],
        events: Sequence[EventBatch],
        at: datetime,
    ) -> None:
        now = self._db.clock.now()
        run_rows, appended = node_run_rows(runs), event_rows(events, at)
        if max(len(saves), len(run_rows), len(appended)) > MAX_ROWS:
            await self.save_many(saves)
            await PostgresNodeRuns(self._db).save_for(runs)
            await PostgresEvents(self._db).append_many(events, at)
            return
        params = {
            "saves": hot_sql.json_rows(self._fenced_row(save, now) for save in saves),
            "runs": hot_sql.json_rows(run_rows),
            "events": hot_sql.json_rows(appended),
        }
        [answer] = await self._db.fetch(_SAVE_WITH_HISTORY, params)
        saved = set(answer["saved"])
        for save in saves:
            if save.execution.id not in saved:
                await self._explain_rejected_save(save.execution.id, save.lease, now)
        if answer["events"] != len(appended):
            raise Conflict("an event is out of sequence")

    @staticmethod
    def _fenced_row(save: FencedSave, now: datetime) -> dict[str, Any]:
        """One row of `hot_sql.save_executions`: the execution and its fence."""
        execution, lease = save.execution, save.lease
        row = mappers.execution_to_row(execution)
        row["b_seq"] = save.expected_seq
        if lease is not None:
            row.update(b_token=lease.token, b_owner=lease.worker_id, b_now=now)
            # The lease ends with the run; its token stays, so it only ever grows.
            row["end_lease"] = execution.status is not ExecutionStatus.RUNNING
        return row

    async def _explain_rejected_save(
        self, execution_id: str, lease: Lease | None, now: datetime
    ) -> None:
        statement = select(*_LEASE_COLUMNS).where(executions.c.id == execution_id)
        row = await self._db.first(statement)
        if row is None:
            raise StaleExecution("the execution no longer exists")
        if lease is not None:
            expires = row["lease_expires_at"]
            alive = expires is not None and expires > now
            same = row["lease_token"] == lease.token and row["lease_owner"] == lease.worker_id
            if not (same and alive):
                raise LeaseLost()
        raise StaleExecution()

    async def record_step_failure(
        self, lease: Lease, kind: str, message: str, now: datetime
    ) -> StepFailure | None:
        self._locked_failures.pop(lease.execution_id, None)
        params = {
            "now": now,
            "first": STEP_RETRY_FIRST_SECONDS,
            "max": STEP_RETRY_MAX_SECONDS,
            "id": lease.execution_id,
            "token": lease.token,
            "owner": lease.worker_id,
            "kind": kind,
            "failure": Jsonb({"kind": kind, "message": message}),
        }
        rows = await self._db.fetch(_RECORD_STEP_FAILURE, params)
        return StepFailure(kind, message, rows[0]["step_failures"]) if rows else None

    async def step_failures_of(self, execution_ids: Sequence[str]) -> dict[str, StepFailure]:
        if not execution_ids:
            return {}
        known = self._locked_failures
        if all(execution_id in known for execution_id in execution_ids):
            found = {execution_id: known[execution_id] for execution_id in execution_ids}
        else:
            rows = await self._db.fetch(_STEP_FAILURES_OF, {"ids": list(execution_ids)})
            found = {row["id"]: _step_failure(row) for row in rows}
        return {execution_id: failure for execution_id, failure in found.items() if failure}

    async def clear_step_failures(self, execution_id: str) -> None:
        self._locked_failures.pop(execution_id, None)
        await self._db.fetch(_CLEAR_STEP_FAILURES, {"id": execution_id})

    async def find_by_idempotency_key(self, workflow_id: str, key: str) -> Execution | None:
        params = {"workflow_id": workflow_id, "key": key}
        row = await self._db.first(_FIND_BY_IDEMPOTENCY_KEY, params)
        return mappers.row_to_execution(row) if row else None

    async def remember_idempotency_key(self, workflow_id: str, key: str, execution_id: str) -> None:
        params = {"workflow_id": workflow_id, "key": key, "execution_id": execution_id}
        if await self._db.count(_REMEMBER_IDEMPOTENCY_KEY, params) != 1:
            raise Conflict(f"idempotency key {key!r} is already used")

    async def find_child(self, parent_execution_id: str, parent_node_id: str) -> Execution | None:
        statement = (
            select(executions)
            .where(
                executions.c.parent_execution_id == parent_execution_id,
                executions.c.parent_node_id == parent_node_id,
            )
            .order_by(executions.c.created_at, executions.c.id)
            .limit(1)
        )
        row = await self._db.first(statement)
        return mappers.row_to_execution(row) if row else None

    async def item_progress(
        self, asked: Sequence[ItemsAt], window: int
    ) -> dict[ItemsAt, ItemProgress]:
        found = {}
        for at in asked:
            params = {
                "parent": at.execution_id,
                "node": at.node_id,
                "start": at.start,
                "end": at.start + window,
            }
            [row] = await self._db.fetch(_ITEM_PROGRESS, params)
            failed = _item_child(row["failed"]) if row["failed"] is not None else None
            ahead = tuple(_item_child(child) for child in row["ahead"])
            found[at] = ItemProgress(int(row["active"]), failed, ahead)
        return found

    async def item_outcomes(self, execution_id: str, node_id: str) -> list[ItemChild]:
        params = {"parent": execution_id, "node": node_id}
        rows = await self._db.fetch(_ITEM_OUTCOMES, params)
        return [
            ItemChild(
                row["item_index"],
                row["id"],
                ExecutionStatus(row["status"]),
                row["output"],
                row["error"],
            )
            for row in rows
        ]

    async def next_queued(self, workflow_id: str, key: str) -> Execution | None:
        rows = await self._db.fetch(_NEXT_QUEUED, {"workflow_id": workflow_id, "key": key})
        return mappers.row_to_execution(rows[0]) if rows else None

    async def active_items(self, execution_id: str, node_id: str) -> list[str]:
        rows = await self._db.fetch(_ACTIVE_ITEMS, {"parent": execution_id, "node": node_id})
        return [row["id"] for row in rows]

    async def find_by_schedule_fire(
        self, schedule_id: str, fire_time: datetime
    ) -> Execution | None:
        statement = select(executions).where(
            executions.c.schedule_id == schedule_id, executions.c.scheduled_for == fire_time
        )
        row = await self._db.first(statement)
        return mappers.row_to_execution(row) if row else None

    async def search(
        self,
        workspace_id: str,
        *,
        workflow_id: str | None = None,
        statuses: Sequence[ExecutionStatus] = (),
        parent_execution_id: str | None = None,
        created_after: datetime | None = None,
        limit: int = 50,
        before: tuple[datetime, str] | None = None,
        after_child: ChildPosition | None = None,
    ) -> list[Execution]:
        statement = select(executions).where(executions.c.workspace_id == workspace_id)
        if workflow_id is not None:
            statement = statement.where(executions.c.workflow_id == workflow_id)
        if statuses:
            statement = statement.where(executions.c.status.in_([s.value for s in statuses]))
        if parent_execution_id is not None:
            statement = statement.where(executions.c.parent_execution_id == parent_execution_id)
        if created_after is not None:
            statement = statement.where(executions.c.created_at > created_after)
        if before is not None:
            key = tuple_(executions.c.created_at, executions.c.id)
            statement = statement.where(
                key
                < tuple_(
                    literal(before[0], executions.c.created_at.type),
                    literal(before[1], executions.c.id.type),
                )
            )
        if parent_execution_id is None:
            statement = statement.order_by(executions.c.created_at.desc(), executions.c.id.desc())
        else:
            if after_child is not None:
                statement = statement.where(tuple_(*_CHILD_ORDER) > _child_key(after_child))
            statement = statement.order_by(*_CHILD_ORDER)
        statement = statement.limit(limit)
        return [mappers.row_to_execution(row) for row in await self._db.rows(statement)]

    async def any_active_for_schedule(self, schedule_id: str) -> bool:
        active = exists().where(
            executions.c.schedule_id == schedule_id,
            executions.c.status.in_(ACTIVE_STATUSES),
        )
        row = await self._db.first(select(active.label("found")))
        return bool(row and row["found"])


def _step_failure(row: Mapping[str, Any]) -> StepFailure | None:
    """The row's step-failure count and last failure, if its steps have been failing."""
    if not row["step_failures"]:
        return None
    last = row["last_step_failure"]
    return StepFailure(last["kind"], last["message"], row["step_failures"])
