"""`treadle workflows apply|list` and `treadle tokens`, in-process against a real database."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.cli.conftest import Cli
from tests.cli.workflow_files import INVALID_JSON, VALID_YAML


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_apply_of_an_invalid_file_prints_every_problem_and_exits_1(
    cli: Cli, tmp_path: Path
) -> None:
    workspace = unique("ws")
    file = tmp_path / "broken.json"
    file.write_text(INVALID_JSON)

    result = cli("workflows", "apply", str(file), "--workspace", workspace)

    assert result.exit_code == 1
    assert "4 problems" in result.stderr
    assert "nodes[0].config.output:" in result.stderr
    assert "(duplicate_node_id)" in result.stderr
    assert "nodes[1].kind:" in result.stderr and "(unknown_node_kind)" in result.stderr
    assert "edges[0].to:" in result.stderr and "(unknown_edge_target)" in result.stderr
    assert "Traceback" not in result.output
    assert "broken-graph" not in cli("workflows", "list", "--workspace", workspace).output


def test_apply_of_a_file_that_is_not_json_says_so_in_one_line(cli: Cli, tmp_path: Path) -> None:
    file = tmp_path / "typo.json"
    file.write_text('{"nodes": [')

    result = cli("workflows", "apply", str(file))

    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "not valid JSON" in result.stderr


def test_apply_creates_then_versions_and_list_shows_it(cli: Cli, tmp_path: Path) -> None:
    workspace, name = unique("ws"), unique("greeter")
    file = tmp_path / "greeter.yaml"
    file.write_text(VALID_YAML.format(name=name))

    created = cli("workflows", "apply", str(file), "--workspace", workspace)
    file.write_text(VALID_YAML.format(name=name) + "# changed: a new version\n")
    updated = cli("workflows", "apply", str(file), "--workspace", workspace)
    listed = cli("workflows", "list", "--workspace", workspace)

    assert created.exit_code == 0, created.output
    assert created.stdout.startswith(f"created {name} (") and "version 1" in created.stdout
    assert updated.stdout.startswith(f"updated {name} (") and "version 2" in updated.stdout
    assert listed.exit_code == 0
    assert name in listed.stdout and "greets someone" in listed.stdout


def test_the_file_stem_names_a_workflow_without_a_name_field(cli: Cli, tmp_path: Path) -> None:
    workspace = unique("ws")
    file = tmp_path / "stem-named.yaml"
    file.write_text(VALID_YAML.format(name="ignored").replace("name: ignored\n", ""))

    result = cli("workflows", "apply", str(file), "--workspace", workspace)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("created stem-named (")


def test_tokens_create_prints_a_token_once_and_list_shows_it(cli: Cli) -> None:
    workspace = unique("team")

    created = cli("tokens", "create", "--workspace", workspace, "--role", "editor")
    listed = cli("tokens", "list", "--workspace", workspace)

    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("trd_") and len(token) > 30
    assert "editor" in listed.stdout
    assert token not in listed.output


def test_tokens_revoke_marks_the_token_revoked(cli: Cli) -> None:
    workspace = unique("team")
    cli("tokens", "create", "--workspace", workspace, "--role", "viewer")
    token_id = cli("tokens", "list", "--workspace", workspace).stdout.split("tok_")[1].split()[0]

    revoked = cli("tokens", "revoke", f"tok_{token_id}", "--workspace", workspace)
    again = cli("tokens", "revoke", "tok_unknown", "--workspace", workspace)

    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.startswith("revoked token tok_")
    assert again.exit_code == 1 and "not_found" in again.stderr


def test_an_unknown_role_is_one_line_and_a_non_zero_exit(cli: Cli) -> None:
    result = cli("tokens", "create", "--workspace", unique("team"), "--role", "owner")

    assert result.exit_code != 0
    assert "role must be one of" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_database_url_is_reported_in_one_line() -> None:
    result = Cli(None)("workflows", "list")

    assert result.exit_code == 2
    assert result.stderr.startswith("treadle: DATABASE_URL is not set")
    assert result.stderr.strip().count("\n") == 0


def test_an_unknown_workspace_is_not_found(cli: Cli) -> None:
    result = cli("workflows", "list", "--workspace", unique("nobody"))

    assert result.exit_code == 1
    assert "no workspace named" in result.stderr
