"""Unit tests for workflows: the cases of a `*.test.yaml` file, run without a server.

A case starts one execution of the workflow under test on an engine whose clock only
moves when told to, and whose network nodes are answered from the case's script. The
driver runs everything due, delivers the case's signals when their time comes, and jumps
the clock to the next wake time (a timer, a retry's backoff, a signal) until the
execution ends or the case's time budget (`advance_seconds`) is used up. What the
execution and the chosen nodes ended with is then compared with the case's `expect`.

The wiring (an in-memory engine, the manual clock, the scripted network) is the caller's:
`run_test_file` asks `new_engine` for a fresh one per case.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from application.engine.runner import ExecutionRunner
from application.ports.clock import Clock
from application.ports.queue import WorkQueue
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases.create_workflow import CreateWorkflow, CreateWorkflowHandler
from application.use_cases.deliver_signal import DeliverSignal, DeliverSignalHandler
from application.use_cases.start_run import StartRun, StartRunHandler
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.status import ExecutionStatus, NodeStatus
from domain.validation import validate_document

TEST_WORKSPACE = "test"
DEFAULT_ADVANCE_SECONDS = 86_400.0 * 7
"""How much fake time a case may use when it does not say: a week."""
MAX_STEPS = 10_000
NETWORK_ERRORS = ("connection", "timeout")
_EXECUTION_STATUSES = tuple(status.value for status in ExecutionStatus)
_NODE_STATUSES = tuple(status.value for status in NodeStatus)


# ---- The file format ----------------------------------------------------------------------


class TestFileError(Exception):
    """A test file that does not follow the format; `str()` names where and why."""

    __test__ = False  # not a pytest class, whatever its name


@dataclass(frozen=True)
class ScriptedResponse:
    """One attempt's answer: a response, or a network error (`connection`, `timeout`)."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    error: str | None = None


@dataclass(frozen=True)
class ScheduledSignal:
    name: str
    payload: Any = None
    after_seconds: float = 0.0


@dataclass(frozen=True)
class NodeExpectation:
    """What is expected of one node; None (or `has_output` False) means "not checked"."""

    status: str | None = None
    attempts: int | None = None
    output: Any = None
    has_output: bool = False

    def view(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        if self.status is not None:
            shown["status"] = self.status
        if self.attempts is not None:
            shown["attempts"] = self.attempts
        if self.has_output:
            shown["output"] = self.output
        return shown


@dataclass(frozen=True)
class Expectation:
    status: str | None = None
    output: Any = None
    has_output: bool = False
    nodes: Mapping[str, NodeExpectation] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        if self.status is not None:
            shown["status"] = self.status
        if self.has_output:
            shown["output"] = self.output
        if self.nodes:
            shown["nodes"] = {node_id: node.view() for node_id, node in self.nodes.items()}
        return shown


@dataclass(frozen=True)
class WorkflowTestCase:
    name: str
    input: Any = None
    responses: Mapping[str, Sequence[ScriptedResponse]] = field(default_factory=dict)
    signals: Sequence[ScheduledSignal] = ()
    advance_seconds: float = DEFAULT_ADVANCE_SECONDS
    expect: Expectation = field(default_factory=Expectation)


@dataclass(frozen=True)
class WorkflowTestFile:
    workflow: str
    """The workflow file under test, relative to the test file."""
    cases: Sequence[WorkflowTestCase]


def parse_test_file(raw: Any) -> WorkflowTestFile:
    """The test file a parsed document describes; raises `TestFileError` otherwise."""
    top = _mapping(raw, "", {"workflow", "cases"})
    workflow = top.get("workflow")
    if not isinstance(workflow, str) or not workflow.strip():
        raise TestFileError("workflow: name the workflow file under test (a relative path)")
    cases = top.get("cases")
    if not isinstance(cases, list) or not cases:
        raise TestFileError("cases: a test file holds a non-empty list of cases")
    parsed = [_case(case, f"cases[{index}]") for index, case in enumerate(cases)]
    names = [case.name for case in parsed]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise TestFileError(f"cases[{index}].name: another case is named {name!r}")
    return WorkflowTestFile(workflow.strip(), parsed)


def _case(raw: Any, path: str) -> WorkflowTestCase:
    keys = {"name", "input", "responses", "signals", "advance_seconds", "expect"}
    case = _mapping(raw, path, keys)
    name = case.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TestFileError(f"{path}.name: every case needs a name")
    advance = case.get("advance_seconds", DEFAULT_ADVANCE_SECONDS)
    if not _is_number(advance) or advance < 0:
        raise TestFileError(f"{path}.advance_seconds: a number of seconds, 0 or more")
    responses = _mapping(case.get("responses", {}), f"{path}.responses", None)
    signals = case.get("signals", [])
    if not isinstance(signals, list):
        raise TestFileError(f"{path}.signals: a list of signals")
    if "expect" not in case:
        raise TestFileError(f"{path}.expect: say what the execution should end with")
    return WorkflowTestCase(
        name=name.strip(),
        input=case.get("input"),
        responses={
            str(node_id): _responses(answers, f"{path}.responses.{node_id}")
            for node_id, answers in responses.items()
        },
        signals=[_signal(signal, f"{path}.signals[{i}]") for i, signal in enumerate(signals)],
        advance_seconds=float(advance),
        expect=_expectation(case["expect"], f"{path}.expect"),
    )


def _responses(raw: Any, path: str) -> list[ScriptedResponse]:
    if not isinstance(raw, list):
        raise TestFileError(f"{path}: a list of answers, one per attempt")
    return [_response(answer, f"{path}[{index}]") for index, answer in enumerate(raw)]


def _response(raw: Any, path: str) -> ScriptedResponse:
    answer = _mapping(raw, path, {"status", "headers", "body", "error"})
    error = answer.get("error")
    if error is not None:
        if error not in NETWORK_ERRORS:
            raise TestFileError(f"{path}.error: one of {', '.join(NETWORK_ERRORS)}")
        if set(answer) != {"error"}:
            raise TestFileError(f"{path}: an answer with `error` has no status, headers or body")
        return ScriptedResponse(error=error)
    status = answer.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise TestFileError(f"{path}.status: an HTTP status code (100 to 599)")
    headers = _mapping(answer.get("headers", {}), f"{path}.headers", None)
    if not all(isinstance(value, str) for value in headers.values()):
        raise TestFileError(f"{path}.headers: header values are strings")
    return ScriptedResponse(status, {str(k): v for k, v in headers.items()}, answer.get("body"))


def _signal(raw: Any, path: str) -> ScheduledSignal:
    signal = _mapping(raw, path, {"name", "payload", "after_seconds"})
    name = signal.get("name")
    if not isinstance(name, str) or not name:
        raise TestFileError(f"{path}.name: the signal's name")
    after = signal.get("after_seconds", 0)
    if not _is_number(after) or after < 0:
        raise TestFileError(f"{path}.after_seconds: a number of seconds, 0 or more")
    return ScheduledSignal(name, signal.get("payload"), float(after))


def _expectation(raw: Any, path: str) -> Expectation:
    expect = _mapping(raw, path, {"status", "output", "nodes"})
    status = _status(expect.get("status"), f"{path}.status", _EXECUTION_STATUSES)
    nodes = _mapping(expect.get("nodes", {}), f"{path}.nodes", None)
    return Expectation(
        status=status,
        output=expect.get("output"),
        has_output="output" in expect,
        nodes={
            str(node_id): _node_expectation(node, f"{path}.nodes.{node_id}")
            for node_id, node in nodes.items()
        },
    )


def _node_expectation(raw: Any, path: str) -> NodeExpectation:
    node = _mapping(raw, path, {"status", "attempts", "output"})
    attempts = node.get("attempts")
    if attempts is not None and (not isinstance(attempts, int) or isinstance(attempts, bool)):
        raise TestFileError(f"{path}.attempts: a whole number")
    return NodeExpectation(
        status=_status(node.get("status"), f"{path}.status", _NODE_STATUSES),
        attempts=attempts,
        output=node.get("output"),
        has_output="output" in node,
    )


def _status(raw: Any, path: str, allowed: tuple[str, ...]) -> str | None:
    if raw is not None and raw not in allowed:
        raise TestFileError(f"{path}: one of {', '.join(allowed)}")
    return str(raw) if raw is not None else None


def _mapping(raw: Any, path: str, keys: set[str] | None) -> dict[str, Any]:
    where = f"{path}: " if path else ""
    if not isinstance(raw, dict):
        raise TestFileError(f"{where}an object (a mapping) is expected here")
    if keys is not None:
        unknown = sorted(str(key) for key in raw if key not in keys)
        if unknown:
            expected = ", ".join(sorted(keys))
            raise TestFileError(f"{where}unknown field {unknown[0]!r} (expected: {expected})")
    return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---- Running a case -----------------------------------------------------------------------


class ManualClock(Clock, Protocol):
    def advance(self, seconds: float = 0.0, *, to: datetime | None = None) -> datetime: ...


@dataclass(frozen=True)
class CaseEngine:
    """A fresh engine for one case: a manual clock, storage, and the scripted network."""

    clock: ManualClock
    uow_factory: UnitOfWorkFactory
    queue: WorkQueue
    runner: ExecutionRunner
    create_workflow: CreateWorkflowHandler
    start_run: StartRunHandler
    deliver_signal: DeliverSignalHandler
    unanswered: Callable[[], list[str]]
    """The requests the script had no answer for, described (method, URL, body)."""


EngineFactory = Callable[[Mapping[str, Sequence[ScriptedResponse]]], CaseEngine]


@dataclass(frozen=True)
class CaseResult:
    name: str
    failures: list[str]
    """Why the case failed, each a readable paragraph; empty when it passed."""
    seconds: float = 0.0
    """The fake time the case used."""

    @property
    def passed(self) -> bool:
        return not self.failures


async def run_test_file(
    test_file: WorkflowTestFile,
    workflow_name: str,
    document: Mapping[str, Any],
    new_engine: EngineFactory,
) -> list[CaseResult]:
    """Run every case of `test_file` against the workflow `document`."""
    problems = validate_document(dict(document))
    if problems:
        reasons = [
            f"the workflow is not valid: {p.path or '(document)'}: {p.message} ({p.code})"
            for p in problems
        ]
        return [CaseResult(case.name, reasons) for case in test_file.cases]
    return [
        await run_case(new_engine(case.responses), workflow_name, document, case)
        for case in test_file.cases
    ]


@dataclass(frozen=True)
class CaseRun:
    """What running a case's execution to its end (or to its time budget) gave."""

    actual: dict[str, Any]
    """Status, output, error, and each node's status, attempts, output and error."""
    seconds: float
    unanswered: list[str]


async def run_case(
    engine: CaseEngine, workflow_name: str, document: Mapping[str, Any], case: WorkflowTestCase
) -> CaseResult:
    ran = await drive_case(engine, workflow_name, document, case)
    if ran.unanswered:
        failures = [f"no response scripted for {u}" for u in ran.unanswered]
        return CaseResult(case.name, failures, ran.seconds)
    return CaseResult(case.name, compare(case.expect, ran.actual), ran.seconds)


async def drive_case(
    engine: CaseEngine, workflow_name: str, document: Mapping[str, Any], case: WorkflowTestCase
) -> CaseRun:
    """Run the case's execution: the worker drains what is due, signals arrive on time,
    and the fake clock jumps to the next wake time until it ends or its time is up."""
    create = CreateWorkflow(TEST_WORKSPACE, workflow_name, dict(document))
    workflow = await engine.create_workflow(create)
    started = await engine.start_run(StartRun(TEST_WORKSPACE, workflow.id, case.input))
    execution_id = started.execution.id
    start = engine.clock.now()
    worker = WorkerLoop(WorkerSettings("treadle-test"), engine.queue, engine.runner, engine.clock)
    pending = sorted(case.signals, key=lambda signal: signal.after_seconds)
    for _ in range(MAX_STEPS):
        await worker.run_until_idle()
        if engine.unanswered():
            break
        async with engine.uow_factory() as uow:
            execution = await uow.executions.get(execution_id)
        if execution is None or execution.status.is_terminal:
            break
        elapsed = (engine.clock.now() - start).total_seconds()
        due = [signal for signal in pending if signal.after_seconds <= elapsed]
        if due:
            pending = pending[len(due) :]
            for signal in due:
                deliver = DeliverSignal(TEST_WORKSPACE, execution_id, signal.name, signal.payload)
                await engine.deliver_signal(deliver)
            continue
        left = case.advance_seconds - elapsed
        if left <= 0:
            break
        step = await engine.queue.next_wake_in(left)
        if pending:
            step = min(step, pending[0].after_seconds - elapsed)
        engine.clock.advance(max(step, 0.0))
    seconds = (engine.clock.now() - start).total_seconds()
    return CaseRun(await _actual(engine, execution_id), seconds, engine.unanswered())


async def _actual(engine: CaseEngine, execution_id: str) -> dict[str, Any]:
    """What the execution ended with, shaped like an expectation of everything."""
    async with engine.uow_factory() as uow:
        execution = await uow.executions.get(execution_id)
        runs = await uow.node_runs.get_all(execution_id)
    assert execution is not None
    return {
        "status": execution.status.value,
        "output": execution.output,
        "error": execution.error,
        "nodes": {
            node_id: {
                "status": run.status.value,
                "attempts": run.attempt,
                "output": run.output,
                "error": run.error,
            }
            for node_id, run in runs.items()
        },
    }


def compare(expect: Expectation, actual: Mapping[str, Any]) -> list[str]:
    """Nothing when `actual` meets `expect`; else a diff of the expected fields."""
    expected = expect.view()
    shown: dict[str, Any] = {}
    if "status" in expected:
        shown["status"] = actual["status"]
    if "output" in expected:
        shown["output"] = actual["output"]
    if "nodes" in expected:
        nodes = actual["nodes"]
        shown["nodes"] = {
            node_id: {key: nodes.get(node_id, {}).get(key) for key in wanted}
            for node_id, wanted in expected["nodes"].items()
        }
    if expected == shown:
        return []
    failures = [diff(expected, shown)]
    if actual.get("error") and expect.status != actual["status"]:
        failures.append(f"the execution ended {actual['status']}: {_error_text(actual['error'])}")
    return failures


def diff(expected: Any, actual: Any) -> str:
    """A unified diff of two JSON documents, pretty-printed with sorted keys."""
    lines = difflib.unified_diff(
        _pretty(expected), _pretty(actual), "expected", "actual", lineterm="", n=3
    )
    return "\n".join(lines)


def _pretty(document: Any) -> list[str]:
    return json.dumps(document, indent=2, sort_keys=True, default=str).splitlines()


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        kind, message = error.get("kind"), error.get("message")
        if kind or message:
            return f"{kind}: {message}"
    return json.dumps(error, default=str)
