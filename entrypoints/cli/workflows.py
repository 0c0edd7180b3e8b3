"""`treadle workflows apply|list`: store workflow definitions from files and list them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from domain.problems import Problem
from entrypoints.cli.common import (
    WORKSPACE_OPTION,
    console,
    fail,
    new_table,
    short_time,
)
from entrypoints.cli.operations import operations
from entrypoints.cli.views import Applied
from entrypoints.document_text import UnreadableDocument, read_json, read_yaml

workflows_app = typer.Typer(help="Store and list workflow definitions.", no_args_is_help=True)

_DEFINITION_FIELDS = ("nodes", "edges", "settings")


@dataclass(frozen=True)
class DefinitionFile:
    """A workflow file: its name, description, the definition document proper, and the
    file's whole text (stored as the version's source, comments and all)."""

    name: str
    description: str | None
    document: dict[str, Any]
    text: str


def read_definition_file(path: Path) -> DefinitionFile:
    """Parse a JSON or YAML workflow file; the name is its `name` field, else the file stem."""
    try:
        # Bytes decoded as they are: reading as text would turn CRLF line ends into LF, and
        # the text is kept as the version's source, byte for byte.
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}", 2)
    except UnicodeDecodeError:
        fail(f"{path}: this is not UTF-8 text", 1)
    raw = _parse(path, text)
    if not isinstance(raw, dict):
        fail(f"{path}: a workflow file holds an object with `nodes` and `edges`", 1)
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        fail(f"{path}: `name` must be a non-empty string", 1)
    description = raw.get("description")
    document = {key: value for key, value in raw.items() if key in _DEFINITION_FIELDS}
    # Unknown top-level keys are left in, so validation reports them like any other problem.
    extra = {k: v for k, v in raw.items() if k not in {"name", "description", *_DEFINITION_FIELDS}}
    return DefinitionFile(name.strip(), description, {**document, **extra}, text)


def _parse(path: Path, text: str) -> Any:
    """JSON or YAML by the file's suffix, within the bounds the API keeps (no YAML aliases)."""
    try:
        if path.suffix.lower() == ".json":
            return read_json(text)
        return read_yaml(text)
    except UnreadableDocument as error:
        fail(f"{path}: {error}", 1)


def print_problems(path: Path, problems: list[Problem]) -> None:
    count = len(problems)
    typer.secho(
        f"{path}: {count} problem{'s' * (count != 1)}", err=True, fg=typer.colors.RED, bold=True
    )
    for problem in problems:
        typer.echo(
            f"  {problem.path or '(document)'}: {problem.message} ({problem.code})", err=True
        )


def print_warnings(path: Path, warnings: list[Problem]) -> None:
    """What saving will not refuse but the author should know (a secret not stored yet, a
    config the API could not check)."""
    for warning in warnings:
        typer.secho(
            f"{path}: warning: {warning.path or '(document)'}: {warning.message} ({warning.code})",
            err=True,
            fg=typer.colors.YELLOW,
        )


@workflows_app.command("apply")
def apply(
    file: Path = typer.Argument(..., help="A workflow definition, JSON or YAML."),
    workspace: str = WORKSPACE_OPTION,
) -> None:
    """Create the workflow named in FILE, or store FILE as its next version; the file's
    text is kept as written. A file equal to the latest version stores nothing."""
    definition = read_definition_file(file)
    ops = operations()
    checked = ops.check_workflow(workspace, definition.name, definition.document)
    if checked.problems:
        print_problems(file, checked.problems)
        raise typer.Exit(1)
    print_warnings(file, checked.warnings)
    applied = ops.apply_workflow(
        workspace, definition.name, definition.description, definition.text
    )
    typer.echo(f"{applied_verb(applied)} {applied.name} ({applied.id}) version {applied.version}")


def applied_verb(applied: Applied) -> str:
    """What `apply` did, as its output line starts."""
    if applied.created:
        return "created"
    return "unchanged" if applied.unchanged else "updated"


@workflows_app.command("list")
def list_workflows(
    workspace: str = WORKSPACE_OPTION,
    limit: int = typer.Option(100, min=1, max=1000, help="Most rows to show."),
) -> None:
    """List the workspace's workflows."""
    found = operations().list_workflows(workspace, limit)
    if not found:
        typer.echo(f"no workflows in workspace {workspace}")
        return
    table = new_table("name", "id", "version", "updated", "description")
    for workflow in found:
        table.add_row(
            workflow.name,
            workflow.id,
            str(workflow.latest_version),
            short_time(workflow.updated_at),
            workflow.description,
        )
    console().print(table)
