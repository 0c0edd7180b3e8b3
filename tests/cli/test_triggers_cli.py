"""`treadle triggers` over the API: a real uvicorn serving the app on 127.0.0.1 over the
memory runtime (see test_remote); deliveries are real POSTs to the trigger's URL."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.conftest import Cli
from tests.cli.test_remote import apply, invoke, remote_cli
from tests.cli.workflow_files import VALID_YAML
from tests.client.conftest import Served


def _line(output: str, label: str) -> str:
    """The value of `label` in `triggers show`'s (or `create`'s) `label  value` lines."""
    for line in output.splitlines():
        if line.startswith(f"{label} "):
            return line[len(label) :].strip()
    raise AssertionError(f"no {label!r} line in {output!r}")


def _created_id(output: str) -> str:
    return output.split("created trigger ")[1].split()[0]


async def test_create_show_update_switch_and_delete(served: Served, tmp_path: Path) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))

    created = await invoke(cli, "triggers", "create", "greeter", "--name", "form")
    trigger_id = _created_id(created.stdout)
    updated = await invoke(
        cli,
        "triggers",
        "update",
        trigger_id,
        "--name",
        "renamed",
        "--header",
        "X-One",
        "--header",
        "X-Two",
        "--input",
        '{"name": "{{ body.who }}"}',
        "--respond",
        "wait",
        "--wait-seconds",
        "2",
    )
    shown = await invoke(cli, "triggers", "show", trigger_id)
    disabled = await invoke(cli, "triggers", "disable", trigger_id)
    shown_disabled = await invoke(cli, "triggers", "show", trigger_id)
    enabled = await invoke(cli, "triggers", "enable", trigger_id)
    deleted = await invoke(cli, "triggers", "delete", trigger_id)
    gone = await invoke(cli, "triggers", "show", trigger_id)

    assert created.exit_code == 0, created.output
    assert created.stdout.startswith(f"created trigger {trigger_id} (form)")
    assert _line(created.stdout, "url") == f"{served.url}/hooks/{trigger_id}"
    assert "secret" not in created.output  # verification none: no secret made
    assert updated.exit_code == 0, updated.output
    assert updated.stdout.startswith(f"updated trigger {trigger_id} (renamed)")
    assert _line(shown.stdout, "name") == "renamed"
    assert _line(shown.stdout, "headers") == "x-one, x-two"
    assert _line(shown.stdout, "input") == '{"name": "{{ body.who }}"}'
    assert _line(shown.stdout, "respond") == "wait up to 2 s"
    assert _line(shown.stdout, "enabled") == "yes"
    assert disabled.stdout.strip() == f"trigger {trigger_id} disabled"
    assert _line(shown_disabled.stdout, "enabled") == "no"
    assert enabled.stdout.strip() == f"trigger {trigger_id} enabled"
    assert deleted.stdout.strip() == f"deleted trigger {trigger_id}"
    assert gone.exit_code == 1
    assert gone.stderr.rstrip().endswith("(not_found)")


async def test_a_secret_is_made_and_shown_once_or_read_from_stdin(
    served: Served, tmp_path: Path
) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))

    made = await invoke(cli, "triggers", "create", "greeter", "--verification", "github")
    made_id = _created_id(made.stdout)
    given = await invoke(
        cli,
        "triggers",
        "create",
        "greeter",
        "--verification",
        "header_secret",
        "--secret-stdin",
        stdin="my-shared-secret\n",
    )
    given_id = _created_id(given.stdout)
    shown = await invoke(cli, "triggers", "show", made_id)
    listed = await invoke(cli, "triggers", "list", "--workflow", "greeter")

    assert made.exit_code == 0, made.output
    assert _line(made.stdout, "secret").startswith("whsec_")
    assert "shown only now" in made.stderr
    assert given.exit_code == 0, given.output
    assert "secret" not in given.stdout  # the caller's own secret is not echoed back
    assert _line(shown.stdout, "verification") == "github"
    assert _line(shown.stdout, "secret") == "set"
    assert _line(made.stdout, "secret") not in shown.stdout
    assert made_id in listed.stdout and given_id in listed.stdout
    assert "header_secret" in listed.stdout and "github" in listed.stdout


async def test_deliveries_list_what_the_trigger_answered(served: Served, tmp_path: Path) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))
    created = await invoke(
        cli, "triggers", "create", "greeter", "--input", '{"name": "{{ body.who }}"}'
    )
    trigger_id = _created_id(created.stdout)

    before = await invoke(cli, "triggers", "deliveries", trigger_id)
    async with httpx.AsyncClient() as http:
        answer = await http.post(_line(created.stdout, "url"), json={"who": "ada"})
    after = await invoke(cli, "triggers", "deliveries", trigger_id)

    assert before.stdout.strip() == "no deliveries"
    assert answer.status_code == 202, answer.text
    execution_id = answer.json()["execution_id"]
    assert after.exit_code == 0, after.output
    assert execution_id in after.stdout and "202" in after.stdout


async def test_what_the_api_refuses_is_its_message_and_code(served: Served, tmp_path: Path) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))

    viewer = await invoke(
        remote_cli(served, served.token("a_viewer")), "triggers", "create", "greeter"
    )
    unknown = await invoke(cli, "triggers", "create", "greeter", "--verification", "carrier-pigeon")
    bad_template = await invoke(cli, "triggers", "create", "greeter", "--input", '"{{ body."')
    no_workflow = await invoke(cli, "triggers", "create", "no-such-workflow")
    nothing = await invoke(cli, "triggers", "update", "trg_whatever")
    listed = await invoke(cli, "triggers", "list")

    assert viewer.exit_code == 1 and viewer.stderr.rstrip().endswith("(forbidden)")
    assert unknown.exit_code == 2 and "'carrier-pigeon' is not one of" in _unboxed(unknown.stderr)
    assert bad_template.exit_code == 1
    assert bad_template.stderr.startswith("treadle: syntax error")
    assert "(invalid_input)\n  input: syntax error" in bad_template.stderr  # the path
    assert no_workflow.exit_code == 1
    assert "no workflow named or with id 'no-such-workflow'" in no_workflow.stderr
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr
    assert listed.stdout.strip() == "no triggers"


def test_triggers_need_a_server() -> None:
    result = Cli(None).invoke("triggers", "list")

    assert result.exit_code == 2
    assert "`treadle triggers list` talks to a server" in result.stderr
    assert "TREADLE_URL" in result.stderr


def _unboxed(text: str) -> str:
    """A usage error's text without the box rich draws around it, as one line."""
    words = text.replace("│", " ").replace("╭", " ").replace("╰", " ").replace("─", " ")
    return " ".join(words.split())
