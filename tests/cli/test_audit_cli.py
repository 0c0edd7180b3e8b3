"""`treadle audit` on the database and over the API, and the client's audit calls under it."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime

import pytest

from entrypoints.cli.audit import parse_since
from tests.api.workflows import WAITS_FOR_GO
from tests.cli.conftest import Cli
from tests.cli.test_remote import invoke, remote_cli
from tests.client.conftest import Served
from treadle_client import AsyncClient, Client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_since_reads_an_age_or_a_time() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    assert parse_since("2h", now) == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 2, 22, 12, 0, tzinfo=UTC)
    assert parse_since("2026-01-31T08:30", now) == datetime(2026, 1, 31, 8, 30, tzinfo=UTC)


@pytest.mark.postgres
def test_audit_on_the_database_lists_the_changes_the_cli_made(cli: Cli) -> None:
    workspace = unique("audited")
    created = cli("tokens", "create", "--workspace", workspace, "--name", "deploys")
    token_id = created.stderr.split("token ")[1].split()[0]
    revoked = cli("tokens", "revoke", token_id, "--workspace", workspace)
    assert created.exit_code == 0 and revoked.exit_code == 0, created.output + revoked.output

    everything = cli("audit", "--workspace", workspace)
    only_revoked = cli("audit", "-w", workspace, "--action", "token.revoked", "--since", "1h")
    elsewhere = cli("audit", "--workspace", workspace, "--object", "tok_nobody")
    bad = cli("audit", "--workspace", workspace, "--since", "last tuesday")

    assert everything.exit_code == 0, everything.output
    assert "token.created" in everything.stdout and "token.revoked" in everything.stdout
    assert everything.stdout.index("token.revoked") < everything.stdout.index("token.created")
    assert "treadle CLI (on the" in everything.stdout
    assert created.stdout.strip() not in everything.stdout  # never the token itself
    assert "token.revoked" in only_revoked.stdout
    assert "token.created" not in only_revoked.stdout
    assert elsewhere.stdout.strip() == "no audit entries match"
    assert bad.exit_code == 2 and "--since" in bad.stderr


async def test_audit_over_the_api_answers_who_cancelled_an_execution(served: Served) -> None:
    with Client(served.url, served.token("a_editor")) as editor:
        workflow = await asyncio.to_thread(editor.create_workflow, "waits", WAITS_FOR_GO)
        started = await asyncio.to_thread(editor.run, workflow.id)
        await asyncio.to_thread(editor.cancel, started.execution_id)
    execution_id = started.execution_id

    listed = await invoke(
        remote_cli(served), "audit", "--action", "execution.cancelled", "--object", execution_id
    )
    refused = await invoke(remote_cli(served, served.token("a_editor")), "audit")

    assert listed.exit_code == 0, listed.output
    assert "execution.cancelled" in listed.stdout and "editor (tok_" in listed.stdout
    assert "run.started" not in listed.stdout
    assert refused.exit_code == 1
    assert refused.stderr.rstrip().endswith("(forbidden)")


async def test_the_client_pages_through_the_audit_log_newest_first(served: Served) -> None:
    async with AsyncClient(served.url, served.token()) as client:
        for number in range(3):
            await client.create_workflow(f"wf{number}", WAITS_FOR_GO)
        page = await client.list_audit(action="workflow.created", limit=2)
        every = [entry async for entry in client.iter_audit(page_size=2)]
    with Client(served.url, served.token()) as sync_client:
        created = await asyncio.to_thread(
            lambda: list(sync_client.iter_audit(action="workflow.created", page_size=1))
        )

    assert [e.details["name"] for e in page.items] == ["wf2", "wf1"]
    assert page.next_cursor is not None
    assert [e.details["name"] for e in created] == ["wf2", "wf1", "wf0"]
    assert {e.action for e in every} >= {"workflow.created", "token.created"}
    assert all(e.actor.kind in ("token", "system") for e in every)
    assert all(a.at >= b.at for a, b in itertools.pairwise(every))
