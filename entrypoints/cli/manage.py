"""The management commands: workflows, runs, executions, tokens, pruning, and (over the
API) secrets, schedules and webhook triggers."""

from __future__ import annotations

import typer

from entrypoints.cli.audit import audit
from entrypoints.cli.executions import executions_app
from entrypoints.cli.node_kinds import node_kinds
from entrypoints.cli.prune import prune
from entrypoints.cli.remote_commands import schedules_app, secrets_app
from entrypoints.cli.retention import retention_app
from entrypoints.cli.run_many import run_many
from entrypoints.cli.runs import run
from entrypoints.cli.tokens import tokens_app
from entrypoints.cli.triggers import triggers_app
from entrypoints.cli.workflows import workflows_app


def register(app: typer.Typer) -> None:
    app.add_typer(workflows_app, name="workflows")
    app.command("run")(run)
    app.command("run-many")(run_many)
    app.add_typer(executions_app, name="executions")
    app.add_typer(tokens_app, name="tokens")
    app.command("audit")(audit)
    app.command("prune")(prune)
    app.add_typer(retention_app, name="retention")
    app.add_typer(secrets_app, name="secrets")
    app.add_typer(schedules_app, name="schedules")
    app.add_typer(triggers_app, name="triggers")
    app.command("node-kinds")(node_kinds)
