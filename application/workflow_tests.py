"""Unit tests for workflows: the cases of a `*.test.yaml` file, run without a server.

A case starts one execution of the workflow under test on an engine whose clock only
moves when told to, and whose network nodes are answered from the case's script. The
driver runs everything due, delivers the case's signals when their time comes, and jumps
the clock to the next wake time (a timer, a retry's backoff, a signal) until the
execution ends or the case's time budget (`advance_seconds`) is used up. What the
execution and the chosen nodes ended with is then compared with the case's `expect`.

The workflows the one under test starts (`sub_workflow`, `for_each`, naming them by
name) are created next to it, on the same engine, so their executions run too; a case's
`secrets` are stored in the case's workspace for node templates to read.

The wiring (an in-memory engine, the manual clock, the scripted network) is the caller's:
`run_test_file` asks `new_engine` for a fresh one per case.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from application.engine.runner import ExecutionRunner
from application.errors import Conflict
from application.ports.clock import Clock
from application.ports.encryptor import Encryptor
from application.ports.executors import NodeCall
from application.ports.queue import WorkQueue
from application.ports.unit_of_work import UnitOfWorkFactory
from application.records import StoredSecret
from application.redaction import redact
from application.use_cases.create_workflow import CreateWorkflow, CreateWorkflowHandler
from application.use_cases.deliver_signal import DeliverSignal, DeliverSignalHandler
from application.use_cases.start_run import StartRun, StartRunHandler
from application.worker_loop import WorkerLoop, WorkerSettings
from application.workflow_tests_calls import (
    CallExpectation,
    RequestMatch,
    expected_calls,
    is_number,
    shown_calls,
)
from application.workflow_tests_errors import ErrorExpectation
from domain.definition import NodeKind
from domain.errors import InvalidDefinition
from domain.node_config import workflow_reference
from domain.problems import Problem, is_template
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
    """One attempt's answer: a response, or a network error (`connection`, `timeout`).

    `delay_seconds` is how long the server takes on the fake clock: at least the call's
    time budget (the node's `timeout`, else the executor's default) and the attempt times
    out. `when` makes it the answer to every request it matches, whatever the attempt."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    error: str | None = None
    delay_seconds: float = 0.0
    when: RequestMatch | None = None


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
    error: ErrorExpectation | None = None

    def view(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        if self.status is not None:
            shown["status"] = self.status
        if self.attempts is not None:
            shown["attempts"] = self.attempts
        if self.has_output:
            shown["output"] = self.output
        if self.error is not None:
            shown["error"] = self.error.view()
        return shown

    def shown(self, actual: Mapping[str, Any]) -> dict[str, Any]:
        """The node's actual fields that this expectation names, laid out like `view()`."""
        shown = {key: actual.get(key) for key in self.view() if key != "error"}
        if self.error is not None:
            shown["error"] = self.error.shown(actual.get("error"))
        return shown


@dataclass(frozen=True)
class Expectation:
    status: str | None = None
    output: Any = None
    has_output: bool = False
    nodes: Mapping[str, NodeExpectation] = field(default_factory=dict)
    error: ErrorExpectation | None = None
    calls: Mapping[str, Sequence[CallExpectation]] = field(default_factory=dict)
    """The requests expected of each node, in the order sent, by script address."""

    def view(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        if self.status is not None:
            shown["status"] = self.status
        if self.has_output:
            shown["output"] = self.output
        if self.error is not None:
            shown["error"] = self.error.view()
        if self.nodes:
            shown["nodes"] = {node_id: node.view() for node_id, node in self.nodes.items()}
        if self.calls:
            shown["calls"] = expected_calls(self.calls)
        return shown


@dataclass(frozen=True)
class WorkflowTestCase:
    name: str
    input: Any = None
    responses: Mapping[str, Sequence[ScriptedResponse]] = field(default_factory=dict)
    """Answers by node: `<node id>` for the workflow under test, `<workflow>.<node id>`
    for a node of a workflow it starts."""
    secrets: Mapping[str, str] = field(default_factory=dict)
    """Workspace secrets the case's nodes read, by name."""
    signals: Sequence[ScheduledSignal] = ()
    advance_seconds: float = DEFAULT_ADVANCE_SECONDS
    expect: Expectation = field(default_factory=Expectation)


@dataclass(frozen=True)
class WorkflowTestFile:
    workflow: str
    """The workflow file under test, relative to the test file."""
    cases: Sequence[WorkflowTestCase]
    workflows: Sequence[str] = ()
    """The files of the workflows it starts (sub_workflow, for_each), relative to the test
    file: they are created next to it for every case."""


@dataclass(frozen=True)
class NamedWorkflow:
    """A workflow to create for a case: its name and its definition document."""

    name: str
    document: Mapping[str, Any]


def parse_test_file(raw: Any) -> WorkflowTestFile:
    """The test file a parsed document describes; raises `TestFileError` otherwise."""
    top = _mapping(raw, "", {"workflow", "workflows", "cases"})
    workflow = top.get("workflow")
    if not isinstance(workflow, str) or not workflow.strip():
        raise TestFileError("workflow: name the workflow file under test (a relative path)")
    workflows = top.get("workflows", [])
    if not isinstance(workflows, list) or not all(
        isinstance(path, str) and path.strip() for path in workflows
    ):
        raise TestFileError("workflows: a list of workflow files (relative paths)")
    cases = top.get("cases")
    if not isinstance(cases, list) or not cases:
        raise TestFileError("cases: a test file holds a non-empty list of cases")
    parsed = [_case(case, f"cases[{index}]") for index, case in enumerate(cases)]
    names = [case.name for case in parsed]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise TestFileError(f"cases[{index}].name: another case is named {name!r}")
    return WorkflowTestFile(workflow.strip(), parsed, [path.strip() for path in workflows])


def _case(raw: Any, path: str) -> WorkflowTestCase:
    keys = {"name", "input", "responses", "secrets", "signals", "advance_seconds", "expect"}
    case = _mapping(raw, path, keys)
    name = case.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TestFileError(f"{path}.name: every case needs a name")
    advance = case.get("advance_seconds", DEFAULT_ADVANCE_SECONDS)
    if not is_number(advance) or advance < 0:
        raise TestFileError(f"{path}.advance_seconds: a number of seconds, 0 or more")
    responses = _mapping(case.get("responses", {}), f"{path}.responses", None)
    secrets = _mapping(case.get("secrets", {}), f"{path}.secrets", None)
    if not all(isinstance(value, str) for value in secrets.values()):
        raise TestFileError(f"{path}.secrets: secret values are strings")
    signals = case.get("signals", [])
    if not isinstance(signals, list):
        raise TestFileError(f"{path}.signals: a list of signals")
    if "expect" not in case:
        raise TestFileError(f"{path}.expect: say what the execution should end with")
    return WorkflowTestCase(
        name=name.strip(),
        input=case.get("input"),
        responses=Script(
            {
                str(address): _responses(answers, f"{path}.responses.{address}")
                for address, answers in responses.items()
            }
        ),
        secrets={str(name): value for name, value in secrets.items()},
        signals=[_signal(signal, f"{path}.signals[{i}]") for i, signal in enumerate(signals)],
        advance_seconds=float(advance),
        expect=_expectation(case["expect"], f"{path}.expect"),
    )


def _responses(raw: Any, path: str) -> list[ScriptedResponse]:
    if not isinstance(raw, list):
        raise TestFileError(f"{path}: a list of answers, one per attempt")
    return [_response(answer, f"{path}[{index}]") for index, answer in enumerate(raw)]


def _response(raw: Any, path: str) -> ScriptedResponse:
    keys = {"status", "headers", "body", "error", "delay_seconds", "when"}
    answer = _mapping(raw, path, keys)
    delay = answer.get("delay_seconds", 0)
    if not is_number(delay) or delay < 0:
        raise TestFileError(f"{path}.delay_seconds: a number of seconds, 0 or more")
    when = _request_match(answer["when"], f"{path}.when") if "when" in answer else None
    error = answer.get("error")
    if error is not None:
        if error not in NETWORK_ERRORS:
            raise TestFileError(f"{path}.error: one of {', '.join(NETWORK_ERRORS)}")
        if {"status", "headers", "body"} & set(answer):
            raise TestFileError(f"{path}: an answer with `error` has no status, headers or body")
        return ScriptedResponse(error=error, delay_seconds=float(delay), when=when)
    status = answer.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise TestFileError(f"{path}.status: an HTTP status code (100 to 599)")
    headers = _string_mapping(answer.get("headers", {}), f"{path}.headers", "header values")
    return ScriptedResponse(
        status, headers, answer.get("body"), delay_seconds=float(delay), when=when
    )


def _request_match(raw: Any, path: str) -> RequestMatch:
    """An answer's `when`: which rendered requests it answers."""
    keys = {"url", "url_contains", "method", "body", "body_contains"}
    when = _mapping(raw, path, keys)
    if not when:
        raise TestFileError(f"{path}: name what to match ({', '.join(sorted(keys))})")
    texts = {key: _text(when, key, path) for key in keys - {"body"}}
    return RequestMatch(
        url=texts["url"],
        url_contains=texts["url_contains"],
        method=texts["method"].upper() if texts["method"] is not None else None,
        body=when.get("body"),
        has_body="body" in when,
        body_contains=texts["body_contains"],
    )


def _call_expectations(raw: Any, path: str) -> dict[str, list[CallExpectation]]:
    """`expect.calls`: by node, the list of requests it is expected to have sent."""
    calls = _mapping(raw, path, None)
    expected: dict[str, list[CallExpectation]] = {}
    for node, requests in calls.items():
        where = f"{path}.{node}"
        if not isinstance(requests, list):
            raise TestFileError(f"{where}: a list of the requests the node sent, in order")
        expected[str(node)] = [
            _call_expectation(request, f"{where}[{index}]")
            for index, request in enumerate(requests)
        ]
    return expected


def _call_expectation(raw: Any, path: str) -> CallExpectation:
    call = _mapping(raw, path, {"method", "url", "headers", "body"})
    method = _text(call, "method", path)
    headers = call.get("headers")
    return CallExpectation(
        method=method.upper() if method is not None else None,
        url=_text(call, "url", path),
        headers=None if headers is None else _string_mapping(headers, f"{path}.headers", "values"),
        body=call.get("body"),
        has_body="body" in call,
    )


def _text(holder: Mapping[str, Any], key: str, path: str) -> str | None:
    """The string at `key`, None when absent; anything else is refused."""
    value = holder.get(key)
    if value is not None and not isinstance(value, str):
        raise TestFileError(f"{path}.{key}: a string")
    return value


def _string_mapping(raw: Any, path: str, what: str) -> dict[str, str]:
    mapping = _mapping(raw, path, None)
    if not all(isinstance(value, str) for value in mapping.values()):
        raise TestFileError(f"{path}: {what} are strings")
    return {str(key): value for key, value in mapping.items()}


def _signal(raw: Any, path: str) -> ScheduledSignal:
    signal = _mapping(raw, path, {"name", "payload", "after_seconds"})
    name = signal.get("name")
    if not isinstance(name, str) or not name:
        raise TestFileError(f"{path}.name: the signal's name")
    after = signal.get("after_seconds", 0)
    if not is_number(after) or after < 0:
        raise TestFileError(f"{path}.after_seconds: a number of seconds, 0 or more")
    return ScheduledSignal(name, signal.get("payload"), float(after))


def _expectation(raw: Any, path: str) -> Expectation:
    expect = _mapping(raw, path, {"status", "output", "error", "nodes", "calls"})
    status = _status(expect.get("status"), f"{path}.status", _EXECUTION_STATUSES)
    nodes = _mapping(expect.get("nodes", {}), f"{path}.nodes", None)
    return Expectation(
        status=status,
        output=expect.get("output"),
        has_output="output" in expect,
        error=_error_expectation(expect, f"{path}.error"),
        nodes={
            str(node_id): _node_expectation(node, f"{path}.nodes.{node_id}")
            for node_id, node in nodes.items()
        },
        calls=_call_expectations(expect.get("calls", {}), f"{path}.calls"),
    )


def _node_expectation(raw: Any, path: str) -> NodeExpectation:
    node = _mapping(raw, path, {"status", "attempts", "output", "error"})
    attempts = node.get("attempts")
    if attempts is not None and (not isinstance(attempts, int) or isinstance(attempts, bool)):
        raise TestFileError(f"{path}.attempts: a whole number")
    return NodeExpectation(
        status=_status(node.get("status"), f"{path}.status", _NODE_STATUSES),
        attempts=attempts,
        output=node.get("output"),
        has_output="output" in node,
        error=_error_expectation(node, f"{path}.error"),
    )


def _error_expectation(holder: Mapping[str, Any], path: str) -> ErrorExpectation | None:
    """The `error` field of an expectation: None when absent, `absent` for `error: null`."""
    if "error" not in holder:
        return None
    raw = holder["error"]
    if raw is None:
        return ErrorExpectation(absent=True)
    keys = {"kind", "message", "message_contains", "message_matches", "retryable"}
    error = _mapping(raw, path, keys)
    if not error:
        raise TestFileError(f"{path}: name what to check ({', '.join(sorted(keys))})")
    for key in keys - {"retryable"}:
        if key in error and not isinstance(error[key], str):
            raise TestFileError(f"{path}.{key}: a string")
    if "retryable" in error and not isinstance(error["retryable"], bool):
        raise TestFileError(f"{path}.retryable: true or false")
    if "message_matches" in error:
        try:
            re.compile(error["message_matches"])
        except re.error as problem:
            message = f"{path}.message_matches: not a regular expression: {problem}"
            raise TestFileError(message) from None
    return ErrorExpectation(
        kind=error.get("kind"),
        message=error.get("message"),
        message_contains=error.get("message_contains"),
        message_matches=error.get("message_matches"),
        retryable=error.get("retryable"),
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


# ---- Running a case -----------------------------------------------------------------------


class ManualClock(Clock, Protocol):
    def advance(self, seconds: float = 0.0, *, to: datetime | None = None) -> datetime: ...


@dataclass
class ScriptAddresses:
    """Which scripted answers a network call takes: a node of the workflow under test is
    addressed by its id, a node of another workflow (one it starts) as
    `<workflow name>.<node id>`. Node ids hold no dot, so the last dot splits the two."""

    under_test: str | None = None
    """The id of the workflow under test, once created."""
    names: dict[str, str] = field(default_factory=dict)
    """Workflow names by id, for the workflows created for the case."""

    def key(self, call: NodeCall) -> str:
        if self.under_test is None or call.workflow_id == self.under_test:
            return call.node_id
        return f"{self.names.get(call.workflow_id, call.workflow_id)}.{call.node_id}"


class Script(dict[str, Sequence[ScriptedResponse]]):
    """A case's scripted answers by address, and what the scripted network shares with
    the driver: the addresses of the workflows the case created (filled in as it creates
    them), which it asks for a call's answers; the case's clock, which a delayed answer
    moves; and the requests it was sent, which `expect.calls` checks."""

    def __init__(self, responses: Mapping[str, Sequence[ScriptedResponse]]) -> None:
        super().__init__(responses)
        self.addresses = ScriptAddresses()
        self.clock: ManualClock | None = None
        self.calls: dict[str, list[dict[str, Any]]] = {}
        """The requests sent, by address, in order, as `SentRequest.view()` (scrubbed)."""

    def total_delay(self) -> float:
        """The seconds of every delayed answer together."""
        return sum(answer.delay_seconds for answers in self.values() for answer in answers)

    def address(self, call: NodeCall) -> str:
        return self.addresses.key(call)


class PlainSecrets:
    """The secret "cipher" of a test engine: values kept as they are. Storage is in
    memory and gone after the case, and the values come from the test file anyway."""

    def encrypt(self, plaintext: str) -> bytes:
        return plaintext.encode("utf-8")

    def decrypt(self, token: bytes) -> str:
        return token.decode("utf-8")


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
    secrets_codec: Encryptor | None = None
    """What the runner opens secrets with; None: this engine cannot be given secrets."""


EngineFactory = Callable[[Mapping[str, Sequence[ScriptedResponse]]], CaseEngine]
"""Builds a case's engine from its answers (a `Script`, which its network should ask for
a call's address)."""


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
    children: Sequence[NamedWorkflow] = (),
) -> list[CaseResult]:
    """Run every case of `test_file` against the workflow `document`, with `children`
    (the workflows it starts) created next to it."""
    reasons = [
        *_invalid(NamedWorkflow(workflow_name, document), "the workflow"),
        *(reason for child in children for reason in _invalid(child, f"workflow {child.name!r}")),
    ]
    if reasons:
        return [CaseResult(case.name, reasons) for case in test_file.cases]
    results = []
    for case in test_file.cases:
        engine = new_engine(case.responses)
        try:
            results.append(await run_case(engine, workflow_name, document, case, children))
        except TestFileError as problem:
            results.append(CaseResult(case.name, [str(problem)]))
    return results


def _invalid(workflow: NamedWorkflow, what: str) -> list[str]:
    """Why the API would refuse the workflow's document, one line per problem."""
    return [
        f"{what} is not valid: {p.path or '(document)'}: {p.message} ({p.code})"
        for p in validate_document(dict(workflow.document))
    ]


@dataclass(frozen=True)
class CaseRun:
    """What running a case's execution to its end (or to its time budget) gave."""

    actual: dict[str, Any]
    """Status, output, error, and each node's status, attempts, output and error."""
    seconds: float
    unanswered: list[str]


async def run_case(
    engine: CaseEngine,
    workflow_name: str,
    document: Mapping[str, Any],
    case: WorkflowTestCase,
    children: Sequence[NamedWorkflow] = (),
) -> CaseResult:
    ran = await drive_case(engine, workflow_name, document, case, children)
    if ran.unanswered:
        failures = [f"no response scripted for {u}" for u in ran.unanswered]
    else:
        failures = compare(case.expect, ran.actual)
    # The engine scrubs secrets from what it stores; this also covers the expected side
    # of a diff, so a failure report can be pasted anywhere.
    return CaseResult(case.name, redact(failures, case.secrets.values()), ran.seconds)


async def drive_case(
    engine: CaseEngine,
    workflow_name: str,
    document: Mapping[str, Any],
    case: WorkflowTestCase,
    children: Sequence[NamedWorkflow] = (),
) -> CaseRun:
    """Run the case's execution: the worker drains what is due, signals arrive on time,
    and the fake clock jumps to the next wake time until it ends or its time is up.
    Raises `TestFileError` when a workflow cannot be created or a secret stored."""
    await _store_secrets(engine, case.secrets)
    under_test = NamedWorkflow(workflow_name, document)
    created = await create_workflows(engine, under_test, children)
    _address_workflows(case.responses, created, workflow_name)
    if isinstance(case.responses, Script):
        case.responses.clock = engine.clock
    workflow_id = created[workflow_name]
    started = await engine.start_run(StartRun(TEST_WORKSPACE, workflow_id, case.input))
    execution_id = started.execution.id
    start = engine.clock.now()
    settings = WorkerSettings("treadle-test", lease_for=_lease_for(case))
    worker = WorkerLoop(settings, engine.queue, engine.runner, engine.clock)
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
    actual = await _actual(engine, execution_id)
    actual["calls"] = dict(case.responses.calls) if isinstance(case.responses, Script) else {}
    return CaseRun(actual, seconds, engine.unanswered())


def _lease_for(case: WorkflowTestCase) -> timedelta:
    """How long the case's worker holds an execution. A delayed answer moves the fake
    clock while the worker holds it, and nothing renews the lease meanwhile (the test
    worker has no heartbeat), so with delays scripted the lease outlasts the whole case;
    without, it is a worker's usual one."""
    usual = WorkerSettings("treadle-test").lease_for
    delays = case.responses.total_delay() if isinstance(case.responses, Script) else 0.0
    if not delays:
        return usual
    return usual + timedelta(seconds=case.advance_seconds + delays)


async def _store_secrets(engine: CaseEngine, secrets: Mapping[str, str]) -> None:
    """Store the case's secrets in the test workspace, sealed as the engine opens them."""
    if not secrets:
        return
    if engine.secrets_codec is None:
        raise TestFileError(
            "secrets: this test engine has no secret store; give secrets through "
            "treadle test or run_workflow(..., secrets=...)"
        )
    now = engine.clock.now()
    async with engine.uow_factory() as uow:
        for name, value in secrets.items():
            sealed = engine.secrets_codec.encrypt(value)
            await uow.secrets.put(StoredSecret(TEST_WORKSPACE, name, sealed, now, now))
        await uow.commit()


async def create_workflows(
    engine: CaseEngine, under_test: NamedWorkflow, children: Sequence[NamedWorkflow]
) -> dict[str, str]:
    """Create the workflow under test and the ones it starts, each before any workflow
    naming it (the API refuses a name it does not know); their ids by name."""
    names = [under_test.name, *(child.name for child in children)]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise TestFileError(f"workflows: two workflows are named {name!r}")
    created: dict[str, str] = {}
    for workflow in creation_order([under_test, *children]):
        create = CreateWorkflow(TEST_WORKSPACE, workflow.name, dict(workflow.document))
        try:
            created[workflow.name] = (await engine.create_workflow(create)).id
        except InvalidDefinition as refused:
            raise TestFileError(_refusal(workflow.name, refused)) from None
        except Conflict as conflict:
            raise TestFileError(f"workflow {workflow.name!r}: {conflict}") from None
    return created


def _address_workflows(
    responses: Mapping[str, Any], created: Mapping[str, str], under_test: str
) -> None:
    """Tell the case's script which workflow is which, for the calls it answers."""
    if isinstance(responses, Script):
        responses.addresses.names = {id_: name for name, id_ in created.items()}
        responses.addresses.under_test = created[under_test]


def creation_order(workflows: Sequence[NamedWorkflow]) -> list[NamedWorkflow]:
    """`workflows` with each one after those it names; a cycle keeps the given order
    (the engine then says what it refuses)."""
    pending = list(workflows)
    order: list[NamedWorkflow] = []
    while pending:
        waiting_for = {workflow.name for workflow in pending}
        ready = next(
            (w for w in pending if not (named_workflows(w.document) - {w.name}) & waiting_for),
            pending[0],
        )
        pending.remove(ready)
        order.append(ready)
    return order


def named_workflows(document: Mapping[str, Any]) -> set[str]:
    """The workflows a definition's sub_workflow and for_each nodes name (not by template)."""
    named: set[str] = set()
    kinds = {kind.value: kind for kind in NodeKind}
    for node in document.get("nodes") or ():
        if not isinstance(node, dict) or node.get("kind") not in kinds:
            continue
        config = node.get("config")
        reference = workflow_reference(
            kinds[node["kind"]], config if isinstance(config, dict) else {}
        )
        if reference and isinstance(reference[1], str) and not is_template(reference[1]):
            named.add(reference[1])
    return named


def _refusal(name: str, refused: InvalidDefinition) -> str:
    lines = [f"workflow {name!r} is refused:"]
    unknown = False
    for problem in refused.problems:
        if isinstance(problem, Problem):
            unknown = unknown or problem.code == "unknown_workflow"
            lines.append(f"  {problem.path}: {problem.message} ({problem.code})")
        else:
            lines.append(f"  {problem}")
    if unknown:
        lines.append("a workflow it names is loaded when the test file lists it under `workflows:`")
    return "\n".join(lines)


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
    if expect.error is not None:
        shown["error"] = expect.error.shown(actual["error"])
    if "nodes" in expected:
        nodes = actual["nodes"]
        shown["nodes"] = {
            node_id: node.shown(nodes.get(node_id, {})) for node_id, node in expect.nodes.items()
        }
    if "calls" in expected:
        shown["calls"] = shown_calls(expect.calls, actual.get("calls", {}))
    if expected == shown:
        return []
    failures = [diff(expected, shown)]
    if actual.get("error") and expect.status != actual["status"] and "error" not in expected:
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
