"""`treadle tokens` over the API, and what `--workspace` means there: a real uvicorn
serving the app on 127.0.0.1 over the memory runtime (see test_remote)."""

from __future__ import annotations

import re

from tests.cli.conftest import Cli
from tests.cli.test_remote import invoke, remote_cli
from tests.client.conftest import Served


async def test_tokens_create_list_revoke_over_the_api(served: Served) -> None:
    cli = remote_cli(served)

    kept = await invoke(cli, "tokens", "create", "--role", "viewer", "--name", "ci-kept")
    doomed = await invoke(cli, "tokens", "create", "--role", "editor", "--name", "ci-doomed")
    doomed_id = doomed.stderr.split("token ")[1].split()[0]
    revoked = await invoke(cli, "tokens", "revoke", doomed_id)
    listed = await invoke(cli, "tokens", "list")
    with_kept = await invoke(remote_cli(served, kept.stdout.strip()), "workflows", "list")
    with_doomed = await invoke(remote_cli(served, doomed.stdout.strip()), "workflows", "list")

    assert kept.exit_code == 0, kept.output
    assert kept.stdout.strip().startswith("trd_")
    assert "created viewer token tok_" in kept.stderr
    assert "for workspace workspace-a" in kept.stderr
    assert revoked.stdout.strip() == f"revoked token {doomed_id}"
    assert "ci-kept" in listed.stdout and "ci-doomed" in listed.stdout
    assert _dates_in_row(listed.stdout, doomed_id) == 2  # created, revoked
    assert _dates_in_row(listed.stdout, kept.stderr.split("token ")[1].split()[0]) == 1
    assert kept.stdout.strip() not in listed.stdout
    assert with_kept.exit_code == 0, with_kept.output
    assert with_doomed.exit_code == 1
    assert with_doomed.stderr.rstrip().endswith("(unauthenticated)")


async def test_tokens_need_an_admin_token_over_the_api(served: Served) -> None:
    created = await invoke(remote_cli(served, served.token("a_editor")), "tokens", "create")
    listed = await invoke(remote_cli(served, served.token("a_viewer")), "tokens", "list")

    assert created.exit_code == 1
    assert created.stderr.rstrip().endswith("(forbidden)")
    assert created.stdout == ""
    assert listed.exit_code == 1
    assert listed.stderr.rstrip().endswith("(forbidden)")


async def test_a_role_that_does_not_exist_is_refused_before_any_request(served: Served) -> None:
    result = await invoke(remote_cli(served), "tokens", "create", "--role", "owner")

    assert result.exit_code == 1
    assert "role must be one of" in result.stderr


def test_the_first_token_cannot_come_over_the_api() -> None:
    cli = Cli(None)
    cli.env.update(TREADLE_URL="http://127.0.0.1:9")

    result = cli.invoke("tokens", "create")

    assert result.exit_code == 2
    assert "needs a token" in result.stderr
    assert "treadle tokens create" in result.stderr and "DATABASE_URL" in result.stderr


async def test_a_workspace_option_must_name_the_tokens_workspace(served: Served) -> None:
    cli = remote_cli(served)

    other = await invoke(cli, "tokens", "list", "--workspace", "workspace-b")
    other_run = await invoke(cli, "executions", "list", "-w", "workspace-b")
    same = await invoke(cli, "tokens", "list", "--workspace", "workspace-a")
    cli.env.update(TREADLE_WORKSPACE="meant-for-the-database")
    from_env = await invoke(cli, "tokens", "list")

    assert other.exit_code == 2
    assert "--workspace workspace-b: the token belongs to workspace workspace-a" in other.stderr
    assert other.stdout == ""
    assert other_run.exit_code == 2
    assert "belongs to workspace workspace-a" in other_run.stderr
    assert same.exit_code == 0, same.output
    assert "admin" in same.stdout
    assert from_env.exit_code == 0, from_env.output


def _dates_in_row(table: str, token_id: str) -> int:
    row = next(line for line in table.splitlines() if token_id in line)
    return len(re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", row))
