"""The README's "A first workflow", run exactly as written against a real `treadle dev`.

The commands are read from the README itself, after the `export` line `treadle dev`
printed, in a shell at the root of a clean copy of the repository; `.venv/bin/treadle`
there runs this virtualenv's Python on the copy. The example they run must stay offline
(no network node kinds), and the output the README shows must be the one printed.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dev_process import (
    REPOSITORY_ROOT,
    DevLauncher,
    clean_copy,
    dev_environment,
    free_port,
    nothing_left,
)

README = REPOSITORY_ROOT / "README.md"
COMMANDS_DEADLINE_SECONDS = 120
NETWORK_KINDS = {"http_request", "ai_prompt"}

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def first_workflow_section() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"^## A first workflow\n(.*?)^## ", text, re.S | re.M)
    assert found, "README.md has no 'A first workflow' section"
    return found.group(1)


def fenced_blocks(section: str, language: str) -> list[str]:
    """The bodies of the section's fenced blocks marked `language` ("" for unmarked)."""
    fences = re.finditer(r"^```(\w*)\n(.*?)^```$", section, re.S | re.M)
    return [fence.group(2) for fence in fences if fence.group(1) == language]


def readme_commands() -> str:
    blocks = fenced_blocks(first_workflow_section(), "sh")
    assert len(blocks) == 1, "the section should hold one block of shell commands"
    return blocks[0]


def readme_output() -> str:
    blocks = fenced_blocks(first_workflow_section(), "")
    assert len(blocks) == 1, "the section should show the output in one plain block"
    return blocks[0].strip()


def applied_workflow_files(commands: str) -> list[Path]:
    return [REPOSITORY_ROOT / name for name in re.findall(r"workflows apply (\S+)", commands)]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    copy = clean_copy(tmp_path / "treadle")
    shim = copy / ".venv" / "bin" / "treadle"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m entrypoints.cli "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return copy


@pytest.fixture
def launcher(workspace: Path) -> Iterator[DevLauncher]:
    with DevLauncher(workspace, free_port(), free_port()) as launcher:
        yield launcher


def test_the_first_workflow_needs_no_network() -> None:
    files = applied_workflow_files(readme_commands())
    assert files, "the README's commands apply no workflow"
    for file in files:
        kinds = {node["kind"] for node in json.loads(file.read_text())["nodes"]}
        assert not kinds & NETWORK_KINDS, f"{file.name} calls the network: {kinds}"


def test_the_readme_first_workflow_runs_as_written(workspace: Path, launcher: DevLauncher) -> None:
    run = launcher.start("readme")
    run.wait_until_ready()
    export = run.printed(r"^CLI:\s+(export .*)$")
    assert export, run.output()
    env = {key: value for key, value in dev_environment().items() if key != "SECRET_KEY"}
    env.pop("TREADLE_HTTP_ALLOWED_HOSTS", None)

    done = subprocess.run(
        ["bash", "-e", "-c", f"{export}\n{readme_commands()}"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMANDS_DEADLINE_SECONDS,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1] == readme_output()
    assert run.stop() == 0, run.output()
    nothing_left(run.child_pids(), (workspace / ".treadle" / "postgres").resolve())
