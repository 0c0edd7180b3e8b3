"""`treadle node-kinds`: the kinds workflows can use, on the database or over the API."""

from __future__ import annotations

import typer

from entrypoints.cli.common import console, new_table, short_time
from entrypoints.cli.operations import operations


def node_kinds() -> None:
    """List the node kinds: built-in ones, then those installed packages add, with the
    package and when a worker that has it was last seen."""
    found = operations().list_node_kinds()
    table = new_table("kind", "title", "from", "worker seen")
    for kind in found:
        origin = "built in" if kind.builtin else kind.package or "installed"
        seen = "-" if kind.builtin else "no worker has it"
        if kind.last_seen_at is not None:
            seen = short_time(kind.last_seen_at)
        table.add_row(kind.kind, kind.title, origin, seen)
    console().print(table)
    if not any(not kind.builtin for kind in found):
        typer.echo("no installed kinds: see docs/plugins.md")
