"""`treadle run-many`: one run per line of a JSON-lines file, 1,000 runs a transaction."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.cli.conftest import Cli
from tests.cli.workflow_files import VALID_YAML


def apply_greeter(cli: Cli, tmp_path: Path, workspace: str) -> None:
    file = tmp_path / "greeter.yaml"
    file.write_text(VALID_YAML.format(name="greeter"))
    assert cli("workflows", "apply", str(file), "-w", workspace).exit_code == 0


def test_every_line_starts_a_run_and_the_ids_come_in_line_order(cli: Cli, tmp_path: Path) -> None:
    workspace = f"many-{uuid.uuid4().hex[:8]}"
    apply_greeter(cli, tmp_path, workspace)
    inputs = tmp_path / "inputs.jsonl"
    lines = [json.dumps({"name": f"n{n}"}) for n in range(1500)]
    inputs.write_text("\n".join(lines[:700]) + "\n\n" + "\n".join(lines[700:]) + "\n")

    first = cli("run-many", "greeter", str(inputs), "--key-prefix", "import", "-w", workspace)
    again = cli("run-many", "greeter", str(inputs), "--key-prefix", "import", "-w", workspace)

    assert first.exit_code == 0, first.output
    ids = first.stdout.split()
    assert len(ids) == 1500 and len(set(ids)) == 1500
    assert "started 1,500 execution(s)" in first.stderr
    assert again.exit_code == 0, again.output
    assert again.stdout.split() == ids
    assert "started 0 execution(s); 1,500 run(s) had been started before" in again.stderr
    shown = cli("executions", "show", ids[-1], "-w", workspace)
    assert '"n1499"' in shown.stdout


def test_a_bad_line_is_named_and_nothing_starts(cli: Cli, tmp_path: Path) -> None:
    workspace = f"many-{uuid.uuid4().hex[:8]}"
    apply_greeter(cli, tmp_path, workspace)
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"name": "a"}\n{"name": "b"\n')
    nul = tmp_path / "nul.jsonl"
    nul.write_text('{"name": "a\\u0000"}\n')

    broken = cli("run-many", "greeter", str(inputs), "-w", workspace)
    unstorable = cli("run-many", "greeter", str(nul), "-w", workspace)
    empty = cli("run-many", "greeter", str(tmp_path / "missing.jsonl"), "-w", workspace)

    assert broken.exit_code == 2 and "inputs.jsonl:2 is not valid JSON" in broken.stderr
    assert unstorable.exit_code == 2 and "nul.jsonl:1: input.name" in unstorable.stderr
    assert empty.exit_code == 2 and "cannot read" in empty.stderr
    listed = cli("executions", "list", "-w", workspace)
    assert listed.exit_code == 0 and "ex_" not in listed.stdout
