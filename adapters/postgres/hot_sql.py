"""The worker's hottest statements as plain SQL for the psycopg driver, built once.

A statement through SQLAlchemy's async layer costs several times the Python CPU of the same
statement sent straight to psycopg (compiled-cache look-up, parameter processing, result
wrapping, a greenlet hand-off). The runner's load and step commit run these on the unit of
work's own connection, inside the same transaction as everything else. psycopg prepares a
statement server-side after it has run a few times, so the server also skips parsing and
planning.

The texts are built from the table definitions, so a column added to the schema is
picked up here as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.base import PGDialect

from adapters.postgres.tables import events, executions, node_runs
from domain.node_run import NodeRun


def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.c if isinstance(c.type, JSONB))


_JSON = {
    "executions": _json_columns(executions),
    "node_runs": _json_columns(node_runs),
    "events": _json_columns(events),
}


def bind(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's values as driver parameters: JSON columns wrapped, Python None as SQL NULL."""
    json_columns = _JSON[table]
    return {
        name: Jsonb(value, dumps=dumps_json)
        if name in json_columns and value is not None
        else value
        for name, value in row.items()
    }


GET_EXECUTION = "SELECT * FROM executions WHERE id = %(execution_id)s"
GET_EXECUTIONS = "SELECT * FROM executions WHERE id = ANY(%(ids)s)"
# The oldest unconsumed signals of some (execution, name) pairs, at most `per_name` each.
UNCONSUMED_SIGNALS = """
SELECT * FROM (
    SELECT s.*, row_number() OVER (
        PARTITION BY s.execution_id, s.name ORDER BY s.created_at, s.position
    ) AS rank
    FROM signals s
    JOIN unnest(%(execution_ids)s::text[], %(names)s::text[]) AS w(execution_id, name)
      ON s.execution_id = w.execution_id AND s.name = w.name
    WHERE s.consumed_by IS NULL
) ranked
WHERE rank <= %(per_name)s
ORDER BY execution_id, name, rank
"""
CONSUME_SIGNALS = """
UPDATE signals SET consumed_by = t.node_id, consumed_at = %(at)s
FROM unnest(%(ids)s::text[], %(node_ids)s::text[]) AS t(id, node_id)
WHERE signals.id = t.id AND signals.consumed_by IS NULL
RETURNING signals.id
"""
GET_NODE_RUNS = (
    "SELECT * FROM node_runs WHERE execution_id = %(execution_id)s ORDER BY position, node_id"
)
GET_NODE_RUNS_OF_MANY = (
    "SELECT * FROM node_runs WHERE execution_id = ANY(%(execution_ids)s)"
    " ORDER BY execution_id, position, node_id"
)
# Locked in id order, so that two lockers never wait on each other in a circle.
LOCK_MANY = "SELECT * FROM executions WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE"
# The same, with the node runs (as JSON, in definition order) of the rows in `runs_of`: one
# round trip instead of two when a worker opens executions it has just claimed.
LOCK_MANY_WITH_RUNS = (
    "SELECT e.*, CASE WHEN e.id = ANY(%(runs_of)s) THEN (SELECT coalesce(jsonb_agg("
    "to_jsonb(n) ORDER BY n.position, n.node_id), '[]'::jsonb) FROM node_runs n"
    " WHERE n.execution_id = e.id) END AS node_runs_json"
    " FROM executions e WHERE e.id = ANY(%(ids)s) ORDER BY e.id FOR UPDATE OF e"
)


def save_executions(columns: list[str], parameter: str = "rows") -> str:
    """The fenced compare-and-set UPDATE of any number of executions, from the JSON list in
    the `rows` parameter (`json_rows`); returns the ids it saved.

    Each row carries the execution's `columns` and its fence: `b_seq` always; `b_token`,
    `b_owner` and `b_now` for a worker's save, which must still hold an unexpired lease;
    `end_lease` when the run is over (the holder is cleared, the token stays).
    """
    fence = {"b_seq": "integer", "b_token": "bigint", "b_owner": "text"}
    fence |= {"b_now": "timestamptz", "end_lease": "boolean"}
    types = ", ".join(
        [f'"{name}" {_column_type(executions, name)}' for name in ["id", *columns]]
        + [f"{name} {kind}" for name, kind in fence.items()]
    )
    setting = ", ".join(f'"{name}" = r."{name}"' for name in columns)
    holder = ", ".join(
        f"{name} = CASE WHEN r.end_lease THEN NULL ELSE e.{name} END"
        for name in ("lease_owner", "lease_expires_at")
    )
    return (
        f"UPDATE executions AS e SET {setting}, {holder}"
        f" FROM jsonb_to_recordset(%({parameter})s) AS r({types})"
        " WHERE e.id = r.id AND e.seq = r.b_seq AND (r.b_token IS NULL"
        " OR (e.lease_token = r.b_token AND e.lease_owner = r.b_owner"
        " AND e.lease_expires_at > r.b_now))"
        " RETURNING e.id"
    )


def insert_execution(columns: list[str], *, guarded: bool, audited: bool = False) -> str:
    """One statement, one round trip: an execution (`columns`), a fresh node run per node
    id (in definition order) from the `node_ids` list, and its first events from the
    `events` list (of `type`, `node_id`, `attempt`, `payload`).

    Guarded, it inserts only if the workflow is in the workspace, not archived and at
    `latest_version`, sends the `channels`/`payloads` notifications when it does, and is
    safe to send twice: it answers `inserted` (this statement stored the execution) and
    `existed` (an earlier one had). The values are cast to their columns' types, which
    PostgreSQL infers only in a VALUES list.

    The lists travel as JSON, one parameter each: the driver dumps a JSON document in one
    call, where a text array costs it a regular-expression pass per element.

    Audited (guarded only), it also adds the `audit_*` audit log row when it inserts the
    execution, in the same statement: a start and its audit row land together or not at all.
    """
    fresh = NodeRun("")
    if guarded:
        casts = ", ".join(f"%({name})s::{_column_type(executions, name)}" for name in columns)
        head = (
            "WITH current_workflow AS (SELECT 1 FROM workflows WHERE id = %(workflow_id)s"
            " AND workspace_id = %(workspace_id)s AND NOT archived"
            " AND latest_version = %(latest_version)s),"
            f" new_execution AS (INSERT INTO executions ({', '.join(columns)})"
            f" SELECT {casts} FROM current_workflow ON CONFLICT (id) DO NOTHING RETURNING id),"
        )
    else:
        values = ", ".join(f"%({name})s" for name in columns)
        head = (
            f"WITH new_execution AS (INSERT INTO executions ({', '.join(columns)})"
            f" VALUES ({values}) RETURNING id),"
        )
    body = (
        " new_runs AS (INSERT INTO node_runs (execution_id, node_id, position, status, attempt)"
        " SELECT new_execution.id, n.node_id, n.ordinal - 1,"
        f" '{fresh.status.value}', {fresh.attempt} FROM new_execution,"
        " jsonb_array_elements_text(%(node_ids)s) WITH ORDINALITY AS n(node_id, ordinal)),"
        " new_events AS (INSERT INTO events"
        " (execution_id, seq, type, node_id, attempt, payload, created_at)"
        " SELECT new_execution.id, e.ordinal, e.event ->> 'type', e.event ->> 'node_id',"
        " (e.event ->> 'attempt')::integer, e.event -> 'payload', %(created_at)s"
        " FROM new_execution, jsonb_array_elements(%(events)s) WITH ORDINALITY AS e(event, ordinal)"
        " RETURNING 1)"
    )
    if not guarded:
        return head + body + " SELECT count(*) AS events FROM new_events"
    if audited:
        body += AUDITED_EXECUTION
    return (
        head + body + ", notified AS (SELECT pg_notify(n ->> 0, n ->> 1) FROM new_execution,"
        " jsonb_array_elements(%(notifications)s) AS n)"
        " SELECT (SELECT count(*) FROM new_execution) AS inserted,"
        " (SELECT count(*) FROM notified) AS notified,"
        " EXISTS (SELECT 1 FROM executions WHERE id = %(id)s) AS existed"
    )


AUDITED_EXECUTION = (
    ", audited AS (INSERT INTO audit_log (workspace_id, at, actor_kind, actor_id, actor_name,"
    " action, object_type, object_id, details) SELECT %(audit_workspace_id)s::text,"
    " %(audit_at)s::timestamptz, %(audit_actor_kind)s::text, %(audit_actor_id)s::text,"
    " %(audit_actor_name)s::text, %(audit_action)s::text, %(audit_object_type)s::text,"
    " %(audit_object_id)s::text, %(audit_details)s::jsonb FROM new_execution)"
)
"""The audit log row of a new execution (`audit_*` parameters), added only with it."""


def insert_executions(columns: list[str], *, notifying: bool = False) -> str:
    """One statement for several new executions (`columns`), their fresh node runs and
    their first events, each table's rows from one JSON list (`executions`, `runs`,
    `events`; see `json_rows`).

    `notifying`, it also sends the `notifications` JSON list of `[channel, payload]` pairs
    (delivered when the transaction commits) and answers how many it sent (`notified`)."""
    run_columns = ["execution_id", "node_id", "position", "status", "attempt"]
    notified = ""
    counted = ""
    if notifying:
        notified = (
            ", notified AS (SELECT pg_notify(n ->> 0, n ->> 1)"
            " FROM jsonb_array_elements(%(notifications)s) AS n)"
        )
        counted = ", (SELECT count(*) FROM notified) AS notified"
    return (
        f"WITH new_executions AS ({_from_json_rows(executions, columns, 'executions')}"
        " RETURNING id),"
        f" new_runs AS ({_from_json_rows(node_runs, run_columns, 'runs')}),"
        f" new_events AS ({_from_json_rows(events, EVENT_COLUMNS, 'events')} RETURNING 1)"
        f"{notified}"
        " SELECT (SELECT count(*) FROM new_executions) AS inserted,"
        f" (SELECT count(*) FROM new_events) AS events{counted}"
    )


def _column_type(table: Table, name: str) -> str:
    """The column's type as SQL, without its collation (a cast takes the column's own)."""
    dialect = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's is unannotated
    compiled = table.c[name].type.compile(dialect=dialect)
    return compiled.split(" COLLATE ")[0]


NODE_RUN_COLUMNS = [c.name for c in node_runs.c]
_NODE_RUN_UPDATES = ", ".join(
    f"{name} = EXCLUDED.{name}"
    for name in NODE_RUN_COLUMNS
    if name not in ("execution_id", "node_id", "position")
)
EVENT_COLUMNS = [c.name for c in events.c]


def _from_json_rows(table: Table, columns: list[str], parameter: str = "rows") -> str:
    """`INSERT INTO table (columns) SELECT ...` from the JSON list in the `parameter`
    (see `json_rows`): one statement text whatever the number of rows, so the driver
    converts it once and the server prepares it once."""
    names = ", ".join(f'"{name}"' for name in columns)
    types = ", ".join(f'"{name}" {_column_type(table, name)}' for name in columns)
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {names}"
        f" FROM jsonb_to_recordset(%({parameter})s) AS r({types})"
    )


def _upsert_node_runs(parameter: str = "rows") -> str:
    return (
        _from_json_rows(node_runs, NODE_RUN_COLUMNS, parameter)
        + f" ON CONFLICT (execution_id, node_id) DO UPDATE SET {_NODE_RUN_UPDATES}"
    )


def _insert_events(parameter: str = "rows") -> str:
    return (
        _from_json_rows(events, EVENT_COLUMNS, parameter)
        + " ON CONFLICT DO NOTHING RETURNING execution_id, seq"
    )


UPSERT_NODE_RUNS = _upsert_node_runs()
"""Insert or update node runs."""
INSERT_EVENTS = _insert_events()
"""Insert events, skipping numbers already taken; returns the keys inserted."""


def save_with_history(columns: list[str]) -> str:
    """`save_executions` (from `saves`), `UPSERT_NODE_RUNS` (from `runs`) and `INSERT_EVENTS`
    (from `events`) as one statement, one round trip; answers the ids saved and how many
    events were inserted. Each part sees the table as it was before the statement, and
    none reads what another writes, so together they do what the three do one by one."""
    return (
        f"WITH saved AS ({save_executions(columns, 'saves')}),"
        f" runs AS ({_upsert_node_runs('runs')} RETURNING 1),"
        f" appended AS ({_insert_events('events')})"
        " SELECT ARRAY(SELECT id FROM saved) AS saved, (SELECT count(*) FROM appended) AS events"
    )


def json_rows(rows: Iterable[Mapping[str, Any]]) -> Jsonb:
    """Rows as the one JSON parameter of a statement built by `_from_json_rows`: times as
    ISO 8601 text, None as SQL NULL (in a JSON column too, as `bind` does)."""
    return Jsonb(list(rows), dumps=dumps_json)


def dumps_json(value: Any) -> bytes:
    """JSON for a parameter. orjson is many times faster than `json` on the rows a group
    commit writes (and writes times as ISO 8601); what it refuses, such as an integer
    beyond 64 bits that a node's output may hold, goes through `json`."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, default=_iso_time).encode()


def _iso_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
