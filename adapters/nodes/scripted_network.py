"""The network of a workflow test: http_request and ai_prompt answered from a script.

The real executors run, each over an HTTP transport that answers from the script instead
of the network, so a scripted answer goes through the same rendering, status handling and
parsing as a real one. Attempt n of a node gets the n-th answer scripted for the node's
address (its id, or `<workflow>.<node id>` in a child workflow, when the answers come as
a `Script`: see `ScriptAddresses`);
a request with none is not sent anywhere: it is recorded (`unanswered`, with the case's
secrets and the texts rendered from them scrubbed) and the attempt fails for good.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import httpx

from adapters.nodes.ai_prompt import AiPromptExecutor
from adapters.nodes.http_request import HttpRequestExecutor
from application.ports.executors import Failed, NodeCall, NodeExecutor, NodeResult
from application.redaction import redact
from application.workflow_tests import Script, ScriptedResponse
from domain.definition import NodeKind
from domain.network_config import DEFAULT_API_KEY_SECRET
from domain.policies import NodeError

SHOWN_BODY_CHARS = 500
SCRIPTED_API_KEY = "scripted-api-key"
"""What an ai_prompt node sends as its key in a test: secrets are not needed there."""


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

    def executors(self) -> dict[str, NodeExecutor]:
        return {
            NodeKind.HTTP_REQUEST: _ScriptedExecutor(self, HttpRequestExecutor),
            NodeKind.AI_PROMPT: _ScriptedExecutor(self, AiPromptExecutor),
        }

    def address(self, call: NodeCall) -> str:
        """The entry of the script a call takes its answers from."""
        if isinstance(self._responses, Script):
            return self._responses.address(call)
        return call.node_id

    def answer_for(self, call: NodeCall) -> ScriptedResponse | None:
        answers = self._responses.get(self.address(call), ())
        return answers[call.attempt - 1] if 0 < call.attempt <= len(answers) else None


class _ScriptedExecutor:
    def __init__(
        self, network: ScriptedNetwork, build: Callable[[httpx.AsyncClient], NodeExecutor]
    ) -> None:
        self._network = network
        self._build = build

    async def run(self, call: NodeCall) -> NodeResult:
        answer = self._network.answer_for(call)
        transport = httpx.MockTransport(lambda request: _respond(request, answer))
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


def _respond(request: httpx.Request, answer: ScriptedResponse | None) -> httpx.Response:
    if answer is None:
        raise _Unanswered(_describe(request))
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
