"""Wrong or missing settings stop a worker at start with one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.worker.harness import DEADLINE, ROOT, Harness

pytestmark = [pytest.mark.e2e]

WORKER_COMMANDS = {
    "python -m entrypoints.worker": ["-m", "entrypoints.worker"],
    "treadle worker": ["-m", "entrypoints.cli", "worker"],
}
BAD_SETTINGS = {
    "no database": ({"DATABASE_URL": None}, "DATABASE_URL"),
    "zero concurrency": ({"TREADLE_WORKER_CONCURRENCY": "0"}, "TREADLE_WORKER_CONCURRENCY"),
    "concurrency not a number": (
        {"TREADLE_WORKER_CONCURRENCY": "lots"},
        "TREADLE_WORKER_CONCURRENCY",
    ),
}


@pytest.mark.parametrize("command", WORKER_COMMANDS.values(), ids=WORKER_COMMANDS.keys())
@pytest.mark.parametrize("case", BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_a_bad_setting_stops_the_worker_with_one_line(
    harness: Harness, command: list[str], case: tuple[dict[str, str | None], str]
) -> None:
    env, named = case
    done = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env=harness.worker_env(**env),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )

    assert done.returncode != 0
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert named in lines[0]
    assert "worker started" not in lines[0]
