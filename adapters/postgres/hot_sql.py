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

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB

from adapters.postgres.tables import events, executions, node_runs


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
        name: Jsonb(value) if name in json_columns and value is not None else value
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


def save_execution(columns: Iterable[str], *, leased: bool) -> str:
    """The fenced compare-and-set UPDATE; `b_`-prefixed parameters are the fence."""
    setting = ", ".join(f"{name} = %({name})s" for name in columns)
    fence = "id = %(b_id)s AND seq = %(b_seq)s"
    if leased:
        fence += (
            " AND lease_token = %(b_token)s AND lease_owner = %(b_owner)s"
            " AND lease_expires_at > %(b_now)s"
        )
    return f"UPDATE executions SET {setting} WHERE {fence} RETURNING id"


def _values(columns: list[str], rows: int) -> tuple[str, str]:
    """(column list, VALUES list) for `rows` rows of positional parameters."""
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return ", ".join(columns), ", ".join([one] * rows)


NODE_RUN_COLUMNS = [c.name for c in node_runs.c]
_NODE_RUN_UPDATES = ", ".join(
    f"{name} = EXCLUDED.{name}"
    for name in NODE_RUN_COLUMNS
    if name not in ("execution_id", "node_id", "position")
)
EVENT_COLUMNS = [c.name for c in events.c]


@cache
def upsert_node_runs(rows: int) -> str:
    """Insert or update `rows` node runs (one text per row count, so each is prepared once)."""
    columns, values = _values(NODE_RUN_COLUMNS, rows)
    return (
        f"INSERT INTO node_runs ({columns}) VALUES {values}"
        f" ON CONFLICT (execution_id, node_id) DO UPDATE SET {_NODE_RUN_UPDATES}"
    )


@cache
def insert_events(rows: int) -> str:
    """Insert `rows` events, skipping numbers already taken; returns the keys inserted."""
    columns, values = _values(EVENT_COLUMNS, rows)
    return (
        f"INSERT INTO events ({columns}) VALUES {values}"
        " ON CONFLICT DO NOTHING RETURNING execution_id, seq"
    )


def flatten(table: str, columns: list[str], rows: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Positional parameters for a multi-row VALUES list."""
    flat: list[Any] = []
    for row in rows:
        bound = bind(table, row)
        flat.extend(bound[name] for name in columns)
    return flat
