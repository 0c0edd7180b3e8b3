"""`treadle retention show|set`, on the database and over the API: flags left out keep
their value, a value out of bounds is refused with its name, and only admins set."""

from __future__ import annotations

import uuid

import psycopg

from adapters.postgres.urls import libpq_conninfo
from tests.cli.conftest import Cli
from tests.cli.test_remote import invoke, remote_cli
from tests.client.conftest import Served


def _workspace(cli: Cli) -> str:
    workspace = f"retention-{uuid.uuid4().hex[:8]}"
    assert cli("tokens", "create", "-w", workspace).exit_code == 0
    return workspace


def _stored(database_url: str, workspace: str) -> tuple[int, int, int | None, int] | None:
    with psycopg.connect(libpq_conninfo(database_url)) as conn:
        row = conn.execute(
            "SELECT keep_finished_days, keep_failed_days, keep_succeeded_hours, keep_audit_days"
            " FROM retention_policies r JOIN workspaces w ON w.id = r.workspace_id"
            " WHERE w.name = %s",
            (workspace,),
        ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])


def test_show_gives_the_defaults_of_a_workspace_that_set_none(cli: Cli) -> None:
    workspace = _workspace(cli)

    result = cli("retention", "show", "-w", workspace)

    assert result.exit_code == 0, result.output
    assert "30 days" in result.stdout
    assert "365 days" in result.stdout
    assert "as finished ones" in result.stdout


def test_set_changes_only_the_values_given_and_stores_them(cli: Cli, cli_database_url: str) -> None:
    workspace = _workspace(cli)

    first = cli("retention", "set", "-w", workspace, "--failed-days", "90", "--audit-days", "30")
    second = cli("retention", "set", "-w", workspace, "--succeeded-hours", "12")
    shown = cli("retention", "show", "-w", workspace)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert _stored(cli_database_url, workspace) == (30, 90, 12, 30)
    assert "12 hours" in shown.stdout and "90 days" in shown.stdout
    cleared = cli("retention", "set", "-w", workspace, "--clear-succeeded-hours")
    assert cleared.exit_code == 0, cleared.output
    assert _stored(cli_database_url, workspace) == (30, 90, None, 30)


def test_a_value_out_of_bounds_is_refused_with_its_name_and_nothing_is_stored(
    cli: Cli, cli_database_url: str
) -> None:
    workspace = _workspace(cli)

    result = cli("retention", "set", "-w", workspace, "--finished-days", "0")

    assert result.exit_code == 1
    assert "keep_finished_days" in result.stderr
    assert "between 1 and 3650" in result.stderr
    assert _stored(cli_database_url, workspace) is None


def test_an_unknown_workspace_is_refused(cli: Cli) -> None:
    result = cli("retention", "show", "-w", f"missing-{uuid.uuid4().hex[:8]}")

    assert result.exit_code == 1
    assert "missing-" in result.stderr


async def test_over_the_api_an_admin_sets_and_a_viewer_reads(served: Served) -> None:
    admin = remote_cli(served)
    viewer = remote_cli(served, served.token("a_viewer"))

    saved = await invoke(admin, "retention", "set", "--finished-days", "7", "--failed-days", "3")
    shown = await invoke(viewer, "retention", "show")
    refused = await invoke(viewer, "retention", "set", "--finished-days", "9")
    bad = await invoke(admin, "retention", "set", "--audit-days", "1")

    assert saved.exit_code == 0, saved.output
    assert shown.exit_code == 0, shown.output
    assert "7 days" in shown.stdout and "3 days" in shown.stdout
    assert refused.exit_code == 1
    assert refused.stderr.rstrip().endswith("(forbidden)")
    assert bad.exit_code == 1
    assert "keep_audit_days" in bad.stderr
    assert "(invalid_retention_policy)" in bad.stderr
    again = await invoke(viewer, "retention", "show")
    assert "7 days" in again.stdout
