"""`treadle run-many` and `treadle executions retry|rerun --watch` over the API: a real
uvicorn serving the app on 127.0.0.1 over the memory runtime (see test_remote)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_remote import apply, invoke, remote_cli, while_draining
from tests.cli.workflow_files import FAILING_JSON, VALID_YAML
from tests.client.conftest import Served


async def test_run_many_sends_every_line_in_requests_of_1000(
    served: Served, tmp_path: Path
) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"name": f"n{n}"}) + "\n" for n in range(1001)))

    first = await invoke(cli, "run-many", "greeter", str(inputs), "--key-prefix", "batch")
    again = await invoke(cli, "run-many", "greeter", str(inputs), "--key-prefix", "batch")
    last = await invoke(cli, "executions", "show", first.stdout.split()[-1])
    from_stdin = await invoke(cli, "run-many", "greeter", "-", stdin='{"name": "x"}\n')

    assert first.exit_code == 0, first.output
    ids = first.stdout.split()
    assert len(ids) == 1001 and len(set(ids)) == 1001
    assert "started 1,001 execution(s)" in first.stderr
    assert again.exit_code == 0, again.output
    assert again.stdout.split() == ids
    assert "started 0 execution(s); 1,001 run(s) had been started before" in again.stderr
    assert '"n1000"' in last.stdout
    assert from_stdin.exit_code == 0, from_stdin.output
    assert len(from_stdin.stdout.split()) == 1 and from_stdin.stdout.split()[0] not in ids


async def test_run_many_splits_a_request_the_server_finds_too_large(
    served: Served, tmp_path: Path
) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))
    inputs = tmp_path / "large.jsonl"
    padding = "x" * 2_500
    inputs.write_text(
        "".join(json.dumps({"name": f"n{n}", "pad": padding}) + "\n" for n in range(600))
    )

    result = await invoke(cli, "run-many", "greeter", str(inputs))
    ids = result.stdout.split()
    first = await invoke(cli, "executions", "show", ids[0])
    last = await invoke(cli, "executions", "show", ids[-1])

    assert inputs.stat().st_size > 1_048_576  # above the server's default body limit
    assert result.exit_code == 0, result.output
    assert len(ids) == 600 and len(set(ids)) == 600
    assert "started 600 execution(s)" in result.stderr
    assert '"n0"' in first.stdout and '"n599"' in last.stdout  # still in line order


async def test_run_many_names_an_unknown_workflow(served: Served, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("{}\n")

    result = await invoke(remote_cli(served), "run-many", "nowhere", str(inputs))

    assert result.exit_code == 1
    assert "no workflow named or with id 'nowhere'" in result.stderr
    assert result.stdout == ""


async def test_rerun_watch_follows_the_new_execution_to_its_output(
    served: Served, tmp_path: Path
) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "greeter.yaml", VALID_YAML.format(name="greeter"))
    first = await invoke(cli, "run", "greeter", "--input", '{"name": "ada"}')
    first_id = first.stdout.strip()
    await served.drain()

    rerun = await while_draining(served, cli, "executions", "rerun", first_id, "--watch")

    assert rerun.exit_code == 0, rerun.output
    lines = rerun.stdout.rstrip().splitlines()
    assert lines[0].startswith("execution ex_") and first_id not in lines[0]
    new_id = lines[0].split()[1]
    assert f"execution {new_id} completed" in rerun.stdout
    assert rerun.stdout.count("succeeded") == 2  # the final table, printed once
    assert lines[-1] == 'output {"shout": "hello ada!"}'


async def test_retry_watch_exits_1_when_the_execution_fails_again(
    served: Served, tmp_path: Path
) -> None:
    cli = remote_cli(served)
    await apply(cli, tmp_path, "broken.json", FAILING_JSON)
    started = await invoke(cli, "run", "broken", "--input", "{}")
    execution_id = started.stdout.strip()
    await served.drain()

    retried = await while_draining(served, cli, "executions", "retry", execution_id, "--watch")

    assert retried.exit_code == 1, retried.output
    assert retried.stdout.startswith(f"execution {execution_id} ")
    assert f"execution {execution_id} failed" in retried.stdout
    assert retried.stdout.rstrip().splitlines()[-1] == "output null"
    assert "expression_error" in retried.stderr
