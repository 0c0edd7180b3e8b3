"""The shipped examples and the node reference stay valid as the validator evolves.

Every `examples/<name>/workflow.json` (or `.yaml`) must parse with no problems once its
`name` and `description` (read by `treadle workflows apply`) are set aside, every JSON
node example in `docs/nodes.md` must validate as a workflow, and the example files that
are not workflows (the schedule body, the flaky test server) must still do their job.
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


@pytest.mark.parametrize("path", workflow_files(), ids=lambda path: path.parent.name)
def test_example_workflow_parses_without_problems(path: Path) -> None:
    workflow_file = load_file(path)
    assert workflow_file.get("name") == path.parent.name  # `treadle run <folder name>` works
    document = definition_part(workflow_file)
    problems = [problem.as_dict() for problem in validate_document(document)]
    assert problems == [], path.relative_to(ROOT)
    assert parse_definition(document).nodes


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
