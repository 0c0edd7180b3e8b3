"""`treadle workflows apply` keeps the file's text as the version's source, and applying
an unchanged file stores nothing: on the database and over the API."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg

from adapters.postgres.urls import libpq_conninfo
from tests.cli.conftest import Cli
from tests.cli.test_remote import apply, remote_cli
from tests.client.conftest import Served
from treadle_client import AsyncClient

COMMENTED = """\
# The greeter: say hello, then shout it.
name: {name}
description: greets someone   # shown by `workflows list`
nodes:
  - id: greet
    kind: transform
    config:
      output: {{greeting: "hello {{{{ input.name }}}}"}}   # a flow mapping
  - id: shout
    kind: transform
    config:
      output: "{{{{ nodes.greet.output.greeting }}}}!"
edges:
  - {{from: greet, to: shout}}
"""

APPLIED = re.compile(r"^(created|updated|unchanged) (\S+) \((wf\S+)\) version (\d+)$")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def stored_versions(
    database_url: str, workflow_id: str
) -> list[tuple[int, str | None, str | None]]:
    """(version, source, source_format) of each stored version, oldest first."""
    with psycopg.connect(libpq_conninfo(database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT version, source, source_format FROM workflow_versions"
            " WHERE workflow_id = %s ORDER BY version",
            (workflow_id,),
        ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def applied_line(output: str) -> tuple[str, str, str, int]:
    """The verb, name, id and version of `apply`'s one line."""
    found = APPLIED.match(output.strip())
    assert found, output
    return found[1], found[2], found[3], int(found[4])


def test_applying_an_unchanged_file_makes_no_version(
    cli: Cli, cli_database_url: str, tmp_path: Path
) -> None:
    workspace, name = unique("ws"), unique("greeter")
    file = tmp_path / "greeter.yaml"
    text = COMMENTED.format(name=name)
    file.write_text(text)

    first = cli("workflows", "apply", str(file), "--workspace", workspace)
    second = cli("workflows", "apply", str(file), "--workspace", workspace)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    verb, _, workflow_id, version = applied_line(first.stdout)
    assert (verb, version) == ("created", 1)
    assert second.stdout.strip() == f"unchanged {name} ({workflow_id}) version 1"
    assert stored_versions(cli_database_url, workflow_id) == [(1, text, "yaml")]


def test_a_yaml_files_comments_are_kept_on_the_database(
    cli: Cli, cli_database_url: str, tmp_path: Path
) -> None:
    workspace, name = unique("ws"), unique("greeter")
    file = tmp_path / "greeter.yaml"
    original = COMMENTED.format(name=name)
    file.write_text(original)
    workflow_id = applied_line(cli("workflows", "apply", str(file), "-w", workspace).stdout)[2]

    edited = original.replace("# a flow mapping", "# a flow mapping, on purpose")
    file.write_text(edited)
    changed = cli("workflows", "apply", str(file), "--workspace", workspace)

    assert changed.exit_code == 0, changed.output
    assert applied_line(changed.stdout)[::3] == ("updated", 2)
    assert stored_versions(cli_database_url, workflow_id) == [
        (1, original, "yaml"),
        (2, edited, "yaml"),
    ]


def test_a_json_file_is_kept_as_json(cli: Cli, cli_database_url: str, tmp_path: Path) -> None:
    name = unique("plain")
    file = tmp_path / "plain.json"
    text = f'{{"name": "{name}",\n "nodes": [{{"id": "a", "kind": "noop"}}], "edges": []}}\n'
    file.write_text(text)

    result = cli("workflows", "apply", str(file), "--workspace", unique("ws"))

    assert result.exit_code == 0, result.output
    workflow_id = applied_line(result.stdout)[2]
    assert stored_versions(cli_database_url, workflow_id) == [(1, text, "json")]


async def test_over_the_api_comments_are_kept_and_an_unchanged_file_stores_nothing(
    served: Served, tmp_path: Path
) -> None:
    cli = remote_cli(served)
    text = COMMENTED.format(name="remote-greeter")

    first = await apply(cli, tmp_path, "greeter.yaml", text)
    second = await apply(cli, tmp_path, "greeter.yaml", text)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    workflow_id = applied_line(first.stdout)[2]
    assert second.stdout.strip() == f"unchanged remote-greeter ({workflow_id}) version 1"
    async with AsyncClient(served.url, served.token()) as client:
        found = await client.get_workflow(workflow_id)
        assert (found.source, found.source_format) == (text, "yaml")
        assert found.description == "greets someone"
        assert [v.version for v in await client.list_versions(workflow_id)] == [1]

    edited = text.replace("# The greeter", "# Our greeter")
    third = await apply(cli, tmp_path, "greeter.yaml", edited)
    assert applied_line(third.stdout)[::3] == ("updated", 2)
    async with AsyncClient(served.url, served.token()) as client:
        assert (await client.get_workflow(workflow_id)).source == edited
        assert (await client.get_workflow(workflow_id, version=1)).source == text


def test_a_files_crlf_line_ends_are_kept(cli: Cli, cli_database_url: str, tmp_path: Path) -> None:
    name = unique("windows")
    file = tmp_path / "windows.yaml"
    raw = COMMENTED.format(name=name).replace("\n", "\r\n").encode()
    file.write_bytes(raw)

    result = cli("workflows", "apply", str(file), "--workspace", unique("ws"))

    assert result.exit_code == 0, result.output
    workflow_id = applied_line(result.stdout)[2]
    [(_, source, _)] = stored_versions(cli_database_url, workflow_id)
    assert source is not None and source.encode() == raw
