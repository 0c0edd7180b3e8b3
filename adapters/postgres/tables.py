"""The PostgreSQL schema as SQLAlchemy Core tables: the single source Alembic compares against.

Identifiers are text in the "C" collation, so ordering and keyset pagination by id match
Python's string order (and the in-memory adapter) whatever the database's locale.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData(
    naming_convention={
        "pk": "%(table_name)s_pkey",
        "uq": "%(table_name)s_%(column_0_N_name)s_key",
        "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
        "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    }
)

ACTIVE_STATUSES = ("pending", "waiting", "running")
# Rows a claim could ever take: the claim query repeats this predicate word for word so
# the planner can use the partial index below. Waiting rows without a wake time are left
# out: only a signal or a child (which sets wake_at) can make them due.
CLAIMABLE_PREDICATE = (
    "status IN ('pending', 'running') OR (status = 'waiting' AND wake_at IS NOT NULL)"
)


def _id() -> Text:
    return Text(collation="C")


def _time() -> DateTime:
    return DateTime(timezone=True)


def _json() -> JSONB:
    # Python None is stored as SQL NULL, so "no value" never becomes the JSON text 'null'.
    return JSONB(none_as_null=True)


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", _time(), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("workspace_id", _id(), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("created_at", _time(), nullable=False),
    Column("revoked_at", _time()),
    Column("created_by", _id()),
)

# People: a user is found again by how their identity provider names them.
users = Table(
    "users",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("email", Text),
    Column("display_name", Text, nullable=False),
    Column("created_at", _time(), nullable=False),
    Column("last_seen_at", _time(), nullable=False),
    UniqueConstraint("issuer", "subject", name="users_issuer_subject_key"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("workspace_id", _id(), primary_key=True),
    Column("user_id", _id(), primary_key=True),
    Column("role", Text, nullable=False),
    Column("created_at", _time(), nullable=False),
    Column("added_by", Text, nullable=False, server_default=text("''")),
)
Index("memberships_user_idx", memberships.c.user_id)

# A membership waiting for its email's first verified sign-in.
invitations = Table(
    "invitations",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("workspace_id", _id(), nullable=False),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("invited_by", Text, nullable=False),
    Column("created_at", _time(), nullable=False),
    UniqueConstraint("workspace_id", "email", name="invitations_workspace_email_key"),
)
Index("invitations_email_idx", invitations.c.email)

# Signed-in consoles, by the SHA-256 of their cookie's value (never the value itself).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", Text, primary_key=True),
    Column("workspace_id", _id(), nullable=False),
    Column("user_id", _id()),
    Column("token_id", _id()),
    Column("created_at", _time(), nullable=False),
    Column("expires_at", _time(), nullable=False),
)
Index("console_sessions_expires_idx", console_sessions.c.expires_at)
Index("console_sessions_user_idx", console_sessions.c.user_id)

workflows = Table(
    "workflows",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("workspace_id", _id(), nullable=False),
    Column("name", Text, nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("created_at", _time(), nullable=False),
    Column("updated_at", _time(), nullable=False),
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    Column("description", Text, nullable=False, server_default=""),
    UniqueConstraint("workspace_id", "name"),
)

workflow_versions = Table(
    "workflow_versions",
    metadata,
    Column("workflow_id", _id(), ForeignKey("workflows.id", ondelete="CASCADE")),
    Column("version", Integer),
    Column("document", _json(), nullable=False),
    Column("created_at", _time(), nullable=False),
    # What the author wrote, byte for byte; NULL when the version was saved as a document.
    Column("source", Text),
    Column("source_format", Text),
    PrimaryKeyConstraint("workflow_id", "version"),
)

executions = Table(
    "executions",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("workspace_id", _id(), nullable=False),
    Column("workflow_id", _id(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("input", _json()),
    Column("output", _json()),
    Column("error", _json()),
    Column("created_at", _time(), nullable=False),
    Column("started_at", _time()),
    Column("finished_at", _time()),
    Column("deadline_at", _time()),
    Column("wake_at", _time()),
    Column("parent_execution_id", _id()),
    Column("parent_node_id", Text),
    Column("schedule_id", _id()),
    Column("scheduled_for", _time()),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("rerun_of", _id()),
    # How deeply the execution is nested as a sub-workflow: 0 for a top-level run.
    Column("depth", Integer, nullable=False, server_default=text("0")),
    # Claimed before lower priorities (0-9, higher first); the queue it was put on, which
    # only the workers serving it claim. Both are set when it is created.
    Column("priority", SmallInteger, nullable=False, server_default=text("5")),
    Column("queue", Text, nullable=False, server_default=text("'default'")),
    # The kinds its workflow uses that installed packages add: only a worker that has them
    # all claims it. Set when it is created.
    Column("required_kinds", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    # The index of the item a `for_each` node started this child for (None otherwise).
    Column("item_index", Integer),
    # Flow control: the concurrency key it counts under, whether it holds a slot of it,
    # and why it waits to start (a slot, a rate window).
    Column("flow_key", Text),
    Column("holds_slot", Boolean, nullable=False, server_default=text("false")),
    Column("waiting_reason", _json()),
    Column("seq", Integer, nullable=False),
    Column("lease_owner", Text),
    Column("lease_token", BigInteger, nullable=False, server_default=text("0")),
    Column("lease_expires_at", _time()),
    # The membership slot (`wake_routing`) of the worker holding the lease, when it held
    # one: once that slot's advisory lock is gone, the other workers take the execution.
    Column("lease_member", BigInteger),
    # Consecutive steps that failed the same way, and how the last one failed: the
    # poison-pill rule ends the execution when the count reaches its limit.
    Column("step_failures", Integer, nullable=False, server_default=text("0")),
    Column("last_step_failure", _json()),
    # Its trace as W3C headers (`traceparent`, `tracestate`) when tracing is on.
    Column("trace_context", _json()),
    ForeignKeyConstraint(
        ["workflow_id", "version"], ["workflow_versions.workflow_id", "workflow_versions.version"]
    ),
)
# Claims walk the claimable rows one priority at a time, each in due order, and stop at
# the due-time horizon: a worker serving every queue through the first index, a worker
# serving some queues through the second (see `queue.py`).
Index(
    "executions_claimable_idx",
    executions.c.priority,
    func.coalesce(executions.c.wake_at, executions.c.created_at),
    executions.c.id,
    postgresql_where=text(CLAIMABLE_PREDICATE),
)
Index(
    "executions_queue_claimable_idx",
    executions.c.queue,
    executions.c.priority,
    func.coalesce(executions.c.wake_at, executions.c.created_at),
    executions.c.id,
    postgresql_where=text(CLAIMABLE_PREDICATE),
)
Index(
    "executions_lease_expiry_idx",
    executions.c.lease_expires_at,
    postgresql_where=executions.c.lease_expires_at.is_not(None),
)
Index(
    "executions_workspace_listing_idx",
    executions.c.workspace_id,
    executions.c.created_at.desc(),
    executions.c.id.desc(),
)
Index(
    "executions_workflow_listing_idx",
    executions.c.workflow_id,
    executions.c.created_at.desc(),
    executions.c.id.desc(),
)
Index(
    "executions_schedule_fire_key",
    executions.c.schedule_id,
    executions.c.scheduled_for,
    unique=True,
    postgresql_where=executions.c.schedule_id.is_not(None),
)
# Not unique: retrying an execution whose sub-workflow node failed starts a second child
# for the same node, and both stay on record.
Index(
    "executions_parent_idx",
    executions.c.parent_execution_id,
    executions.c.parent_node_id,
    postgresql_where=executions.c.parent_execution_id.is_not(None),
)
# An item starts exactly once: one child per (parent, node, index) at most.
Index(
    "executions_item_key",
    executions.c.parent_execution_id,
    executions.c.parent_node_id,
    executions.c.item_index,
    unique=True,
    postgresql_where=executions.c.item_index.is_not(None),
)
Index(
    "executions_active_items_idx",
    executions.c.parent_execution_id,
    executions.c.parent_node_id,
    postgresql_where=text("item_index IS NOT NULL AND status IN ('pending', 'running', 'waiting')"),
)
Index(
    "executions_failed_items_idx",
    executions.c.parent_execution_id,
    executions.c.parent_node_id,
    executions.c.item_index,
    postgresql_where=text(
        "item_index IS NOT NULL AND status IN ('failed', 'cancelled', 'timed_out')"
    ),
)

# The executions waiting for a slot of a (workflow, key), oldest first.
Index(
    "executions_slot_queue_idx",
    executions.c.workflow_id,
    executions.c.flow_key,
    executions.c.created_at,
    executions.c.id,
    postgresql_where=text(
        "status = 'waiting' AND NOT holds_slot AND (waiting_reason ->> 'kind') = 'concurrency'"
    ),
)

concurrency_slots = Table(
    "concurrency_slots",
    metadata,
    Column("workflow_id", _id(), nullable=False),
    Column("key", Text, nullable=False),
    Column("running", Integer, nullable=False),
    PrimaryKeyConstraint("workflow_id", "key"),
)

rate_windows = Table(
    "rate_windows",
    metadata,
    Column("workflow_id", _id(), nullable=False),
    Column("key", Text, nullable=False),
    Column("window_start", _time(), nullable=False),
    Column("started", Integer, nullable=False),
    PrimaryKeyConstraint("workflow_id", "key"),
)

node_runs = Table(
    "node_runs",
    metadata,
    Column("execution_id", _id(), ForeignKey("executions.id", ondelete="CASCADE")),
    Column("node_id", Text),
    Column("position", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("input", _json()),
    Column("output", _json()),
    Column("error", _json()),
    Column("label", Text),
    Column("started_at", _time()),
    Column("finished_at", _time()),
    Column("wake_at", _time()),
    Column("waiting_for", _json()),
    Column("skip_reason", Text),
    PrimaryKeyConstraint("execution_id", "node_id"),
)

events = Table(
    "events",
    metadata,
    Column("execution_id", _id(), ForeignKey("executions.id", ondelete="CASCADE")),
    Column("seq", Integer),
    Column("type", Text, nullable=False),
    Column("node_id", Text),
    Column("attempt", Integer),
    Column("payload", _json(), nullable=False),
    Column("created_at", _time(), nullable=False),
    PrimaryKeyConstraint("execution_id", "seq"),
)

signals = Table(
    "signals",
    metadata,
    Column("id", _id(), primary_key=True),
    Column(
        "execution_id",
        _id(),
        ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # Arrival order: ties on created_at (same clock reading) keep first-in, first-out.
    Column("position", BigInteger, Identity(always=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("payload", _json()),
    Column("created_at", _time(), nullable=False),
    Column("consumed_by", Text),
    Column("consumed_at", _time()),
)
Index(
    "signals_unconsumed_idx",
    signals.c.execution_id,
    signals.c.name,
    signals.c.created_at,
    signals.c.position,
    postgresql_where=signals.c.consumed_by.is_(None),
)
Index("signals_execution_idx", signals.c.execution_id, signals.c.position)

schedules = Table(
    "schedules",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("workspace_id", _id(), nullable=False),
    Column("workflow_id", _id(), nullable=False, index=True),
    Column("cron", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("input", _json()),
    Column("enabled", Boolean, nullable=False),
    Column("next_fire_at", _time()),
    Column("created_at", _time(), nullable=False),
    Column("overlap", Text, nullable=False, server_default="allow"),
    Column("catch_up", Boolean, nullable=False, server_default=text("false")),
    Column("last_fired_at", _time()),
    Column("last_execution_id", _id()),
)
Index(
    "schedules_due_idx",
    schedules.c.next_fire_at,
    postgresql_where=schedules.c.enabled,
)
Index("schedules_workspace_idx", schedules.c.workspace_id, schedules.c.created_at)

triggers = Table(
    "triggers",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("workspace_id", _id(), nullable=False),
    Column("workflow_id", _id(), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("verification", Text, nullable=False),
    Column("secret_ciphertext", LargeBinary),
    Column("verify_header", Text),
    Column("tolerance_seconds", Integer, nullable=False),
    Column("delivery_id_header", Text),
    Column("delivery_id_path", Text),
    Column("headers", _json(), nullable=False),
    Column("input_template", _json()),
    Column("respond", Text, nullable=False),
    Column("respond_node", Text),
    Column("wait_seconds", Float, nullable=False),
    Column("max_body_bytes", Integer, nullable=False),
    Column("rate_limit", Float, nullable=False),
    Column("created_at", _time(), nullable=False),
    Column("updated_at", _time(), nullable=False),
)
Index("triggers_workspace_idx", triggers.c.workspace_id, triggers.c.created_at)

trigger_deliveries = Table(
    "trigger_deliveries",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "trigger_id",
        _id(),
        ForeignKey("triggers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("received_at", _time(), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("execution_id", _id()),
    Column("delivery_id", Text),
    Column("error_code", Text),
)
Index("trigger_deliveries_trigger_idx", trigger_deliveries.c.trigger_id, trigger_deliveries.c.id)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("workflow_id", _id()),
    Column("key", Text),
    Column(
        "execution_id",
        _id(),
        ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    PrimaryKeyConstraint("workflow_id", "key"),
)

secrets = Table(
    "secrets",
    metadata,
    Column("workspace_id", _id()),
    Column("name", Text),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("created_at", _time(), nullable=False),
    Column("updated_at", _time(), nullable=False),
    PrimaryKeyConstraint("workspace_id", "name"),
)

# The node kinds that installed packages add, as the workers registered them at start (and
# every few minutes after): the API lists them and refuses a definition with a kind that
# no worker ever had.
node_kinds = Table(
    "node_kinds",
    metadata,
    Column("name", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("config_schema", _json()),
    Column("example", _json()),
    Column("package", Text),
    Column("last_seen_at", _time(), nullable=False),
)

# How long each workspace keeps its history; the workers apply it in small batches. A
# workspace without a row keeps the defaults (`application.retention`).
retention_policies = Table(
    "retention_policies",
    metadata,
    Column("workspace_id", _id(), primary_key=True),
    Column("keep_finished_days", Integer, nullable=False, server_default=text("30")),
    Column("keep_failed_days", Integer, nullable=False, server_default=text("30")),
    Column("keep_succeeded_hours", Integer),
    Column("keep_audit_days", Integer, nullable=False, server_default=text("365")),
    Column("updated_at", _time(), nullable=False),
)

# Who did what through the API or the console: the token (its id and name, never its
# value) or the user, the action, the object, and details without secrets.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("workspace_id", _id(), nullable=False),
    Column("at", _time(), nullable=False),
    Column("actor_kind", Text, nullable=False),
    Column("actor_id", Text),
    Column("actor_name", Text),
    Column("action", Text, nullable=False),
    Column("object_type", Text, nullable=False),
    Column("object_id", Text),
    Column("details", _json()),
)
Index("audit_log_workspace_at_idx", audit_log.c.workspace_id, audit_log.c.at, audit_log.c.id)
