"""`treadle prune --older-than 30d`: delete finished executions and their rows in batches."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from application.use_cases.prune import DEFAULT_BATCH_SIZE, PruneExecutions, PruneExecutionsHandler
from entrypoints.cli.common import console, fail, with_runtime

if TYPE_CHECKING:
    from entrypoints.runtime import Runtime

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `2w` or `45s` as a duration."""
    match = _AGE.match(text.lower())
    if match is None or int(match.group(1)) == 0:
        fail(f"--older-than {text!r}: give a positive number and a unit, like 30d, 12h or 2w", 2)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def prune(
    older_than: str = typer.Option(..., "--older-than", help="Age cutoff: 30d, 12h, 2w ..."),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, min=1, max=10_000, help="Rows per batch."),
) -> None:
    """Delete executions that finished before the cutoff, across all workspaces."""
    command = PruneExecutions(parse_age(older_than), batch_size)

    async def act(runtime: Runtime) -> int:
        handler = PruneExecutionsHandler(runtime.storage.pruner, runtime.clock)
        deleted = 0
        with Progress(
            TextColumn("pruning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console(),
            transient=False,
        ) as progress:
            task = progress.add_task("prune", total=None)
            async for step in handler(command):
                progress.update(task, total=step.total, completed=step.deleted)
                deleted = step.deleted
        return deleted

    deleted = with_runtime(act)
    typer.echo(f"deleted {deleted} execution{'s' * (deleted != 1)} older than {older_than}")
