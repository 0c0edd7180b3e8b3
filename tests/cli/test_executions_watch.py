"""`treadle executions retry|rerun --watch` on the database: real `treadle` processes
and a real worker process on a real database (as test_run_watch)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_run_watch import treadle
from tests.cli.workflow_files import FAILING_JSON, VALID_YAML


@pytest.mark.e2e
@pytest.mark.usefixtures("worker_process")
def test_rerun_watch_follows_the_new_execution_to_its_output(
    cli: Cli, cli_database_url: str, tmp_path: Path
) -> None:
    workspace = f"rerun-{uuid.uuid4().hex[:8]}"
    file = tmp_path / "greeter.yaml"
    file.write_text(VALID_YAML.format(name="greeter"))
    assert cli("workflows", "apply", str(file), "-w", workspace).exit_code == 0
    first = treadle(
        cli_database_url, "run", "greeter", "--input", '{"name": "ada"}', "--watch", "-w", workspace
    )
    first_id = first.stdout.split("started execution ")[1].split()[0]

    rerun = treadle(cli_database_url, "executions", "rerun", first_id, "--watch", "-w", workspace)

    assert first.returncode == 0, first.stdout + first.stderr
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    lines = rerun.stdout.rstrip().splitlines()
    assert lines[0].startswith("execution ex_") and first_id not in lines[0]
    assert f"execution {lines[0].split()[1]} completed" in rerun.stdout
    assert rerun.stdout.count("succeeded") == 2  # the final table, printed once
    assert lines[-1] == 'output {"shout": "hello ada!"}'


@pytest.mark.e2e
@pytest.mark.usefixtures("worker_process")
def test_retry_watch_exits_1_when_the_execution_fails_again(
    cli: Cli, cli_database_url: str, tmp_path: Path
) -> None:
    workspace = f"retry-{uuid.uuid4().hex[:8]}"
    file = tmp_path / "broken.json"
    file.write_text(FAILING_JSON)
    assert cli("workflows", "apply", str(file), "-w", workspace).exit_code == 0
    failed = treadle(cli_database_url, "run", "broken", "--input", "{}", "--watch", "-w", workspace)
    execution_id = failed.stdout.split("started execution ")[1].split()[0]

    retried = treadle(
        cli_database_url, "executions", "retry", execution_id, "--watch", "-w", workspace
    )

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert retried.returncode == 1, retried.stdout + retried.stderr
    assert retried.stdout.startswith(f"execution {execution_id} ")
    assert f"execution {execution_id} failed" in retried.stdout
    assert retried.stdout.rstrip().splitlines()[-1] == "output null"
    assert "expression_error" in retried.stderr
    assert "Traceback" not in retried.stderr
