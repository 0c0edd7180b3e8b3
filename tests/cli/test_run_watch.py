"""`treadle run --watch` as a real process, with a real worker process, on a real database."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.cli.conftest import REPOSITORY_ROOT, Cli, process_env
from tests.cli.workflow_files import FAILING_JSON, VALID_YAML

RUN_DEADLINE_SECONDS = 60


def treadle(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env=process_env(database_url),
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_SECONDS,
    )


@pytest.fixture(scope="module")
def workspace() -> str:
    return f"watch-{uuid.uuid4().hex[:8]}"


@pytest.mark.e2e
@pytest.mark.usefixtures("worker_process")
def test_watch_exits_0_when_the_execution_completes(
    cli: Cli, cli_database_url: str, workspace: str, tmp_path: Path
) -> None:
    file = tmp_path / "greeter.yaml"
    file.write_text(VALID_YAML.format(name="greeter"))
    assert cli("workflows", "apply", str(file), "-w", workspace).exit_code == 0

    done = treadle(
        cli_database_url, "run", "greeter", "--input", '{"name": "ada"}', "--watch", "-w", workspace
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed" in done.stdout
    assert "greet" in done.stdout and "shout" in done.stdout
    assert done.stdout.count("succeeded") == 2
    assert done.stdout.rstrip().splitlines()[-1] == 'output {"shout": "hello ada!"}'
    execution_id = done.stdout.split("started execution ")[1].split()[0]
    shown = cli("executions", "show", execution_id, "-w", workspace)
    assert '"hello ada!"' in shown.stdout


@pytest.mark.e2e
@pytest.mark.usefixtures("worker_process")
def test_watch_exits_1_when_the_execution_fails(
    cli: Cli, cli_database_url: str, workspace: str, tmp_path: Path
) -> None:
    file = tmp_path / "reads-a-missing-node.json"
    file.write_text(FAILING_JSON)
    assert cli("workflows", "apply", str(file), "-w", workspace).exit_code == 0

    failed = treadle(
        cli_database_url, "run", "reads-a-missing-node", "--input", "{}", "--watch", "-w", workspace
    )

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "failed" in failed.stdout
    assert "expression_error" in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr


def test_run_of_an_unknown_workflow_is_one_line_and_exit_1(cli: Cli, workspace: str) -> None:
    cli("tokens", "create", "-w", workspace)

    result = cli("run", "no-such-workflow", "--input", "{}", "-w", workspace)

    assert result.exit_code == 1
    assert "no workflow named or with id 'no-such-workflow'" in result.stderr


def test_run_with_input_that_is_not_json_says_so(cli: Cli, workspace: str) -> None:
    result = cli("run", "greeter", "--input", "{name: ada}", "-w", workspace)

    assert result.exit_code == 2
    assert "--input is not valid JSON" in result.stderr
