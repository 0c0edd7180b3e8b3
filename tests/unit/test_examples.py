"""The shipped examples and the node reference stay valid as the validator evolves.

Every `examples/<name>/workflow.json` (or `.yaml`), and every other workflow file of an
example (the child workflow a `for_each` runs), must parse with no problems once its
`name` and `description` (read by `treadle workflows apply`) are set aside, and its
README must apply a workflow only after those it names. Every JSON node example in
`docs/nodes.md` must validate as a workflow, and the example files that are not
workflows (the schedule body, the flaky test server) must still do their job. The
contract tests run the fan-out-fan-in example as its README says.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
import yaml

from application.schedule_times import is_valid_cron, is_valid_timezone
from domain.definition import NodeKind
from domain.validation import parse_definition, validate_document
from entrypoints.api.schemas.admin import ScheduleCreate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NODE_REFERENCE = ROOT / "docs" / "nodes.md"
EXPECTED_EXAMPLES = {
    "hello",
    "fetch-and-summarise",
    "approval-with-timeout",
    "fan-out-fan-in",
    "flaky-endpoint-retries",
    "nightly-report",
}
FILE_ONLY_FIELDS = ("name", "description")
JSON_FENCE = re.compile(r"^```json\n(?P<body>.*?)^```", re.DOTALL | re.MULTILINE)


def workflow_files() -> list[Path]:
    patterns = ("*/workflow.json", "*/workflow.yaml", "*/workflow.yml")
    return sorted(path for pattern in patterns for path in EXAMPLES.glob(pattern))


def all_workflow_files() -> list[Path]:
    """Each example's workflow files: its `workflow.json` and any other file that holds
    `nodes` (a child workflow, applied on its own)."""
    patterns = ("*/*.json", "*/*.yaml", "*/*.yml")
    found = (path for pattern in patterns for path in EXAMPLES.glob(pattern))
    return sorted(path for path in found if "nodes" in load_file(path))


def load_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    assert isinstance(loaded, dict), path
    return loaded


def definition_part(workflow_file: dict[str, Any]) -> dict[str, Any]:
    """The definition document in a workflow file, as `treadle workflows apply` reads it:
    the file may also name the workflow and describe it, which the document itself may not."""
    return {key: value for key, value in workflow_file.items() if key not in FILE_ONLY_FIELDS}


def node_examples() -> Iterator[tuple[int, Any]]:
    """(line number, parsed block) for each ```json block of the reference naming a kind."""
    text = NODE_REFERENCE.read_text(encoding="utf-8")
    for match in JSON_FENCE.finditer(text):
        body = match.group("body")
        if '"kind"' in body:
            yield text.count("\n", 0, match.start()) + 1, json.loads(body)


def as_workflow(block: Any) -> Any:
    """A whole workflow stays as it is; a lone node becomes a one-node workflow."""
    return block if "nodes" in block else {"nodes": [block]}


def test_every_expected_example_has_a_workflow_and_a_readme() -> None:
    found = {path.parent.name for path in workflow_files()}
    assert found == EXPECTED_EXAMPLES
    for name in EXPECTED_EXAMPLES:
        assert (EXAMPLES / name / "README.md").is_file(), name
    assert (EXAMPLES / "README.md").is_file()


@pytest.mark.parametrize(
    "path", all_workflow_files(), ids=lambda path: str(path.relative_to(EXAMPLES))
)
def test_example_workflow_parses_without_problems(path: Path) -> None:
    workflow_file = load_file(path)
    # `treadle run <folder name>` runs the example; another file is named as it is called.
    expected = path.parent.name if path.stem == "workflow" else path.stem
    assert workflow_file.get("name") == expected
    document = definition_part(workflow_file)
    problems = [problem.as_dict() for problem in validate_document(document)]
    assert problems == [], path.relative_to(ROOT)
    assert parse_definition(document).nodes


def named_workflows(document: dict[str, Any]) -> set[str]:
    """The workflows its `sub_workflow` and `for_each` nodes name literally."""
    kinds = {NodeKind.SUB_WORKFLOW.value, NodeKind.FOR_EACH.value}
    return {
        str(node["config"]["workflow"])
        for node in document.get("nodes", [])
        if node.get("kind") in kinds and "{{" not in str(node["config"].get("workflow", "{{"))
    }


@pytest.mark.parametrize("example", sorted(EXPECTED_EXAMPLES))
def test_the_readme_applies_each_workflow_after_those_it_names(example: str) -> None:
    """`treadle workflows apply` refuses a workflow naming one that does not exist yet."""
    readme = (EXAMPLES / example / "README.md").read_text(encoding="utf-8")
    applied = re.findall(r"treadle workflows apply (examples/\S+)", readme)
    files = [path for path in all_workflow_files() if path.parent.name == example]
    first_applied = list(dict.fromkeys(applied))
    assert sorted(first_applied) == sorted(str(path.relative_to(ROOT)) for path in files)
    names = [load_file(ROOT / path)["name"] for path in first_applied]
    for position, path in enumerate(first_applied):
        named = named_workflows(load_file(ROOT / path))
        assert named <= set(names[:position]), f"{path} names {named} before they are applied"


@pytest.mark.parametrize(
    "line, block",
    [pytest.param(line, block, id=f"nodes.md:{line}") for line, block in node_examples()],
)
def test_node_reference_example_validates(line: int, block: Any) -> None:
    document = as_workflow(block)
    problems = [problem.as_dict() for problem in validate_document(document)]
    assert problems == [], f"docs/nodes.md line {line}"
    assert parse_definition(document).nodes


def test_node_reference_shows_every_kind() -> None:
    shown: set[str] = set()
    for _, block in node_examples():
        shown.update(node["kind"] for node in as_workflow(block)["nodes"])
    assert shown == {kind.value for kind in NodeKind}


def test_nightly_schedule_is_a_valid_schedule_body() -> None:
    raw = (EXAMPLES / "nightly-report" / "schedule.json").read_text(encoding="utf-8")
    body = msgspec.json.decode(raw, type=ScheduleCreate)
    assert body.cron == "0 2 * * *"
    assert is_valid_cron(body.cron)
    assert is_valid_timezone(body.timezone)
    assert body.timezone != "UTC"  # the example exists to show a time zone


# ---- The flaky server of the retries example ------------------------------------------------


def load_flaky_server() -> ModuleType:
    path = EXAMPLES / "flaky-endpoint-retries" / "flaky_server.py"
    spec = importlib.util.spec_from_file_location("flaky_server_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def flaky_url() -> Iterator[str]:
    module = load_flaky_server()
    server = module.FlakyServer(("127.0.0.1", 0), 2)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/charge"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def post(url: str, key: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=b'{"amount": 5}', headers={"Idempotency-Key": key}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_flaky_server_fails_the_first_requests_of_each_key(flaky_url: str) -> None:
    statuses = [post(flaky_url, "key-a")[0] for _ in range(2)]
    status, receipt = post(flaky_url, "key-a")
    assert statuses == [503, 503]
    assert status == 200
    assert receipt == {
        "ok": True,
        "attempt": 3,
        "idempotency_key": "key-a",
        "request": {"amount": 5},
    }
    assert post(flaky_url, "key-b")[0] == 503  # counted per key
