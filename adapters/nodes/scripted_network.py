"""The network of a workflow test: http_request and ai_prompt answered from a script.

The real executors run, each over an HTTP transport that answers from the script instead
of the network, so a scripted answer goes through the same rendering, status handling and
parsing as a real one. A request takes the first answer scripted for the node's address
(its id, or `<workflow>.<node id>` in a child workflow, when the answers come as a
`Script`: see `ScriptAddresses`) whose `when` matches it, else, on attempt n, the n-th
answer without `when`. An `http_request` node follows a scripted redirect as it would a
server's; the request a redirect leads to takes only an answer whose `when` matches it
(the answers in order are for the attempts' first requests). A request with no answer
is not sent anywhere: it is recorded
(`unanswered`, with the case's secrets and the texts rendered from them scrubbed) and
the attempt fails for good. Every request is recorded the same way in `calls`.

An answer's `delay_seconds` is decided here, not waited for: a delay of at least the
call's time budget (what is left of the node's `timeout`, else the executor's default)
fails the attempt as the executor's own timeout would, after moving the case's fake
clock by the budget; a shorter one is answered after moving the clock by the delay.
The clock moves to the attempt's start plus that time, so calls made side by side
overlap instead of adding up; the hops of one attempt's redirects add up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx

from adapters.nodes import ai_prompt, http_request
from adapters.nodes.ai_prompt import AiPromptExecutor
from adapters.nodes.http_common import lower_headers, time_budget
from adapters.nodes.http_request import HttpRequestExecutor
from application.ports.executors import Failed, NodeCall, NodeExecutor, NodeResult
from application.redaction import redact
from application.workflow_tests import Script, ScriptedResponse
from application.workflow_tests_calls import SentRequest, choose_answer
from domain.definition import NodeKind
from domain.network_config import DEFAULT_API_KEY_SECRET
from domain.policies import NodeError

SHOWN_BODY_CHARS = 500
SCRIPTED_API_KEY = "scripted-api-key"
"""What an ai_prompt node sends as its key in a test: secrets are not needed there."""


@dataclass
class _Attempt:
    """One run of an executor: its time budget, and what its requests used so far."""

    budget: float
    requests: int = 0
    elapsed: float = 0.0


class _Unanswered(Exception):
    def __init__(self, request: str) -> None:
        super().__init__(request)
        self.request = request


class ScriptedNetwork:
    """Executors for the network node kinds, answering from `responses` per node id."""

    def __init__(self, responses: Mapping[str, Sequence[ScriptedResponse]]) -> None:
        self._responses = responses
        self.unanswered: list[str] = []
        """Each request the script had no answer for: node, attempt, method, URL, body."""
        self.calls: dict[str, list[dict[str, object]]] = (
            responses.calls if isinstance(responses, Script) else {}
        )
        """Every request sent, by address, in order (`SentRequest.view()`, scrubbed)."""

    def executors(self) -> dict[str, NodeExecutor]:
        return {
            NodeKind.HTTP_REQUEST: _ScriptedExecutor(
                self, HttpRequestExecutor, http_request.DEFAULT_TIMEOUT_SECONDS
            ),
            NodeKind.AI_PROMPT: _ScriptedExecutor(
                self, AiPromptExecutor, ai_prompt.DEFAULT_TIMEOUT_SECONDS
            ),
        }

    def address(self, call: NodeCall) -> str:
        """The entry of the script a call takes its answers from."""
        if isinstance(self._responses, Script):
            return self._responses.address(call)
        return call.node_id

    def answer_for(
        self, call: NodeCall, request: SentRequest, redirected: bool = False
    ) -> ScriptedResponse | None:
        """The answer to `request`; one a redirect led to takes only a matching `when`
        (attempt 0 picks none of the answers in order)."""
        attempt = 0 if redirected else call.attempt
        return choose_answer(self._responses.get(self.address(call), ()), attempt, request)

    def record(self, call: NodeCall, request: SentRequest) -> None:
        shown = redact(request.view(), _sensitive(call))
        self.calls.setdefault(self.address(call), []).append(shown)

    def take_time(self, call: NodeCall, seconds: float) -> None:
        """Move the case's fake clock to `seconds` after the attempt started (not back)."""
        clock = self._responses.clock if isinstance(self._responses, Script) else None
        if clock is not None and seconds > 0:
            clock.advance(to=call.now + timedelta(seconds=seconds))

    def respond(self, call: NodeCall, request: httpx.Request, attempt: _Attempt) -> httpx.Response:
        """The scripted answer to `request`, sent by `call` during `attempt` (whose
        requests after the first are the redirects it followed)."""
        sent = _sent(request)
        self.record(call, sent)
        answer = self.answer_for(call, sent, redirected=attempt.requests > 0)
        attempt.requests += 1
        if answer is None:
            raise _Unanswered(_describe(request))
        attempt.elapsed += answer.delay_seconds
        if attempt.elapsed >= attempt.budget:
            self.take_time(call, attempt.budget)
            # Caught by the executor as its own time budget running out.
            raise TimeoutError(f"the scripted answer takes {answer.delay_seconds:g} s")
        self.take_time(call, attempt.elapsed)
        return _response(request, answer)


class _ScriptedExecutor:
    def __init__(
        self,
        network: ScriptedNetwork,
        build: Callable[[httpx.AsyncClient], NodeExecutor],
        default_timeout: float,
    ) -> None:
        self._network = network
        self._build = build
        self._default_timeout = default_timeout
        """The executor's time budget for a call when the node has no timeout."""

    async def run(self, call: NodeCall) -> NodeResult:
        attempt = _Attempt(time_budget(call.now, call.deadline, self._default_timeout))
        transport = httpx.MockTransport(
            lambda request: self._network.respond(call, request, attempt)
        )
        # A key the case gives is used as given; without one, a stand-in.
        secrets = {_key_secret(call): SCRIPTED_API_KEY, **call.secrets}
        async with httpx.AsyncClient(transport=transport) as client:
            try:
                return await self._build(client).run(dataclasses.replace(call, secrets=secrets))
            except _Unanswered as unanswered:
                request = redact(unanswered.request, _sensitive(call))
                what = f"{self._network.address(call)} (attempt {call.attempt}): {request}"
                self._network.unanswered.append(what)
                message = f"No response is scripted for this request: {request}"
                return Failed(NodeError("unscripted_request", message, retryable=False))


def _sent(request: httpx.Request) -> SentRequest:
    body = request.content.decode("utf-8", errors="replace")
    return SentRequest(request.method, str(request.url), lower_headers(request.headers), body)


def _response(request: httpx.Request, answer: ScriptedResponse) -> httpx.Response:
    if answer.error == "connection":
        raise httpx.ConnectError("connection refused (scripted)", request=request)
    if answer.error == "timeout":
        raise httpx.ReadTimeout("timed out (scripted)", request=request)
    headers = dict(answer.headers)
    if answer.body is None:
        return httpx.Response(answer.status, headers=headers)
    if isinstance(answer.body, str):
        return httpx.Response(answer.status, headers=headers, text=answer.body)
    return httpx.Response(answer.status, headers=headers, json=answer.body)


def _describe(request: httpx.Request) -> str:
    """`POST https://host/path?query` and the body the request would have carried."""
    text = f"{request.method} {request.url}"
    body = request.content.decode("utf-8", errors="replace")
    if body:
        shown = body if len(body) <= SHOWN_BODY_CHARS else body[:SHOWN_BODY_CHARS] + "..."
        text += f" with body {shown}"
    return text


def _sensitive(call: NodeCall) -> set[str]:
    """The secrets a call read and the texts rendered from them."""
    return {*call.sensitive_texts, *call.secrets.values()}


def _key_secret(call: NodeCall) -> str:
    name = call.config.get("api_key_secret") if call.kind is NodeKind.AI_PROMPT else None
    return name if isinstance(name, str) else DEFAULT_API_KEY_SECRET
