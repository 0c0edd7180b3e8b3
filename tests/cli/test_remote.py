"""The CLI over the API (TREADLE_URL and TREADLE_TOKEN): a real uvicorn serving the app on
127.0.0.1 over the memory runtime; the test drains the worker in this process while the
CLI runs in a thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import Result

from tests.cli.conftest import Cli
from tests.cli.workflow_files import FAILING_JSON, VALID_YAML
from tests.client.conftest import Served

DEADLINE = 20.0


def remote_cli(served: Served, token: str | None = None) -> Cli:
    cli = Cli(None)
    cli.env.update(TREADLE_URL=served.url, TREADLE_TOKEN=token or served.token())
    return cli


async def invoke(cli: Cli, *args: str, stdin: str | None = None) -> Result:
    return await asyncio.to_thread(cli.invoke, *args, stdin=stdin)


async def while_draining(served: Served, cli: Cli, *args: str) -> Result:
    """Run the CLI while a worker in this process runs what becomes due."""
    task = asyncio.create_task(invoke(cli, *args))
    async with asyncio.timeout(DEADLINE):
        while not task.done():
            await served.drain()
            await asyncio.sleep(0.05)
    return await task


async def apply(cli: Cli, tmp_path: Path, name: str, text: str) -> Result:
    file = tmp_path / name
    file.write_text(text)
    return await invoke(cli, "workflows", "apply", str(file))


async def test_apply_list_and_run_with_watch_over_the_api(served: Served, tmp_path: Path) -> None:
    cli = remote_cli(served)

    created = await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))
    changed = VALID_YAML.format(name="greeter") + "# changed: a new version\n"
    updated = await apply(cli, tmp_path, "greeter.yaml", changed)
    listed = await invoke(cli, "workflows", "list")
    done = await while_draining(
        served, cli, "run", "greeter", "--input", '{"name": "ada"}', "--watch"
    )

    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("created greeter (") and "version 1" in created.stdout
    assert updated.stdout.startswith("updated greeter (") and "version 2" in updated.stdout
    assert "greeter" in listed.stdout and "greets someone" in listed.stdout
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("started execution ")
    assert "completed" in done.stdout
    assert done.stdout.count("succeeded") == 2
    assert done.stdout.rstrip().splitlines()[-1] == 'output {"shout": "hello ada!"}'


async def test_run_then_show_list_and_rerun_over_the_api(served: Served, tmp_path: Path) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "broken.json", FAILING_JSON)

    started = await invoke(cli, "run", "broken", "--input", "{}")
    execution_id = started.stdout.strip()
    await served.drain()
    shown = await invoke(cli, "executions", "show", execution_id, "--events")
    listed = await invoke(cli, "executions", "list", "--workflow", "broken", "--status", "failed")
    rerun = await invoke(cli, "executions", "rerun", execution_id)

    assert started.exit_code == 0, started.output
    assert shown.exit_code == 0, shown.output
    assert f"execution {execution_id} failed" in shown.stdout
    assert "expression_error" in shown.stdout
    assert "execution_created" in shown.stdout
    assert execution_id in listed.stdout
    assert rerun.exit_code == 0, rerun.output
    assert rerun.stdout.startswith("execution ") and execution_id not in rerun.stdout


async def test_an_api_error_is_its_code_and_message_and_exit_1(served: Served) -> None:
    wrong = await invoke(remote_cli(served, token="not-a-token"), "workflows", "list")
    missing = await invoke(remote_cli(served), "run", "no-such-workflow")

    assert wrong.exit_code == 1
    assert wrong.stderr.rstrip().endswith("(unauthenticated)")
    assert "Traceback" not in wrong.output
    assert missing.exit_code == 1
    assert "no workflow named or with id 'no-such-workflow'" in missing.stderr


async def test_secrets_set_list_delete_never_show_the_value(served: Served) -> None:
    cli = remote_cli(served)

    created = await invoke(cli, "secrets", "set", "API_KEY", stdin="s3cret-value\n")
    replaced = await invoke(cli, "secrets", "set", "API_KEY", stdin="other-value")
    listed = await invoke(cli, "secrets", "list")
    deleted = await invoke(cli, "secrets", "delete", "API_KEY")
    after = await invoke(cli, "secrets", "list")

    assert created.stdout.strip() == "created secret API_KEY", created.output
    assert replaced.stdout.strip() == "updated secret API_KEY"
    assert "API_KEY" in listed.stdout
    assert "s3cret" not in created.output + replaced.output + listed.output
    assert deleted.exit_code == 0
    assert after.stdout.strip() == "no secrets"


def test_secrets_need_a_server() -> None:
    result = Cli(None).invoke("secrets", "list")

    assert result.exit_code == 2
    assert "TREADLE_URL" in result.stderr


async def test_schedules_create_list_switch_delete(served: Served, tmp_path: Path) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))

    created = await invoke(
        cli, "schedules", "create", "greeter", "0 * * * *", "--input", '{"name": "ada"}'
    )
    schedule_id = created.stdout.split()[2]
    listed = await invoke(cli, "schedules", "list", "--workflow", "greeter")
    disabled = await invoke(cli, "schedules", "disable", schedule_id)
    enabled = await invoke(cli, "schedules", "enable", schedule_id)
    deleted = await invoke(cli, "schedules", "delete", schedule_id)
    after = await invoke(cli, "schedules", "list")

    assert created.exit_code == 0, created.output
    assert schedule_id in listed.stdout and "0 * * * *" in listed.stdout
    assert disabled.stdout.strip() == f"schedule {schedule_id} disabled"
    assert enabled.stdout.startswith(f"schedule {schedule_id} enabled")
    assert deleted.stdout.strip() == f"deleted schedule {schedule_id}"
    assert after.stdout.strip() == "no schedules"


async def test_the_global_options_choose_the_server(served: Served) -> None:
    cli = Cli(None)

    listed = await invoke(cli, "--url", served.url, "--token", served.token(), "workflows", "list")
    no_token = await invoke(cli, "--url", served.url, "workflows", "list")

    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("no workflows")
    assert no_token.exit_code == 2
    assert "needs a token" in no_token.stderr
