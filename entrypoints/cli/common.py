"""What every `treadle` command shares: one-line errors, settings, and a runtime to act on.

Commands that touch data open the same composition root as the API and the worker
(`bootstrap`) against `DATABASE_URL`, run one coroutine, and close it again.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from application.errors import ApplicationError, NotFound
from application.records import Workflow, Workspace
from application.use_cases.workspaces import EnsureWorkspace
from domain.errors import DomainError
from entrypoints.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from entrypoints.runtime import Runtime

T = TypeVar("T")

PIPED_WIDTH = 200
"""Columns for tables written to a pipe or file: wide enough that rows stay on one line."""


def console() -> Console:
    """A console on the current stdout (tests swap it), not wrapped narrowly when piped."""
    width = None if sys.stdout.isatty() else PIPED_WIDTH
    return Console(file=sys.stdout, highlight=False, width=width)


def _workspace_given(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """Check a `--workspace` typed on the command line against the token's workspace when
    the command talks to a server (TREADLE_WORKSPACE and the default are not checked: they
    may be meant for the database mode)."""
    from entrypoints.cli.operations import check_workspace

    source = ctx.get_parameter_source(param.name) if param.name else None
    # By name: typer carries its own copy of click, whose enum is not click's.
    if not ctx.resilient_parsing and source is not None and source.name == "COMMANDLINE":
        check_workspace(value)
    return value


WORKSPACE_OPTION = typer.Option(
    "default",
    "--workspace",
    "-w",
    envvar="TREADLE_WORKSPACE",
    help="Workspace name (in the database mode; over the API the token's workspace is used,"
    " and a different name given here is an error).",
    callback=_workspace_given,
)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line and exit non-zero."""
    typer.secho(f"treadle: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        fail(str(error), 2)


def describe_error(error: BaseException) -> str:
    """`code: message` for the errors this project raises, the message alone otherwise."""
    code = getattr(error, "code", None)
    if isinstance(error, ApplicationError | DomainError) and code:
        return f"{error} ({code})"
    return str(error) or type(error).__name__


def guarded(action: Callable[[], T]) -> T:
    """Run a command body, turning the errors a person can fix into one line."""
    try:
        return action()
    except typer.Exit:
        raise
    except SettingsError as error:
        fail(str(error), 2)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as error:  # the last line of defence of a CLI: no traceback walls
        fail(describe_error(error))


def with_runtime(action: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open the runtime on `DATABASE_URL`, run `action` on it, close it; errors as one line."""

    # Here, not above: the runtime brings the engine and the driver, which `--help` and the
    # commands that talk to a server do without.
    from entrypoints.bootstrap import bootstrap

    async def body() -> T:
        settings = load_settings()
        settings.require_database()
        runtime = await bootstrap(settings)
        try:
            return await action(runtime)
        finally:
            await runtime.close()

    return guarded(lambda: asyncio.run(body()))


async def find_workspace(runtime: Runtime, name: str) -> Workspace:
    async with runtime.uow_factory() as uow:
        found = await uow.workspaces.get_by_name(name)
    if found is None:
        raise NotFound(
            f"no workspace named {name!r}: `treadle tokens create --workspace {name}` makes one"
        )
    return found


async def ensure_workspace(runtime: Runtime, name: str) -> Workspace:
    return await runtime.services.ensure_workspace()(EnsureWorkspace(name))


async def find_workflow(runtime: Runtime, workspace_id: str, name_or_id: str) -> Workflow:
    """A workflow by id, else by name."""
    async with runtime.uow_factory() as uow:
        found = await uow.workflows.get(workspace_id, name_or_id)
        if found is None:
            found = await uow.workflows.get_by_name(workspace_id, name_or_id)
    if found is None or found.archived:
        raise NotFound(f"no workflow named or with id {name_or_id!r} in this workspace")
    return found


def parse_json_option(value: str | None, option: str) -> Any:
    """A JSON value given on the command line, or `@path` to read it from a file."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as file:
                text = file.read()
        except OSError as error:
            fail(f"{option}: cannot read {value[1:]}: {error.strerror}", 2)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"{option} is not valid JSON: {error.msg} at line {error.lineno}", 2)


def new_table(*headers: str) -> Table:
    """A table whose cells wrap instead of being cut short: ids must stay whole to copy."""
    table = Table()
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def short_time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"
