"""The public side of webhook triggers: `POST /hooks/{trigger_id}`, without a bearer token.

The unguessable id, and the trigger's verification, stand in for a token. Each answer
given once the trigger is known (anything but 404 and 429) is recorded as a delivery.
"""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath

from application.errors import ApplicationError
from application.triggers.records import Trigger
from application.triggers.requests import BodyTooLarge, HookRequest
from application.triggers.rules import MAX_BODY_BYTES
from application.triggers.waiting import Outcome
from application.use_cases.receive_hook import HookAccepted, ReceiveHookHandler
from entrypoints.api.errors import error_response, status_of
from entrypoints.api.schemas.common import ErrorBody
from entrypoints.api.schemas.triggers import HookAcceptedOut

EXECUTION_HEADER = "X-Treadle-Execution-Id"

_RESPONSES = {
    200: ResponseSpec(None, description="`respond: wait`: the node's output, as JSON"),
    401: ResponseSpec(ErrorBody, description="invalid_signature or signature_expired"),
    404: ResponseSpec(ErrorBody, description="no such trigger, or it is disabled"),
    400: ResponseSpec(ErrorBody, description="invalid_body: not what its content type says"),
    413: ResponseSpec(ErrorBody, description="the body is larger than the trigger accepts"),
    422: ResponseSpec(
        ErrorBody, description="invalid_input (a value beyond the limits), input_template_failed"
    ),
    429: ResponseSpec(ErrorBody, description="over the trigger's rate (Retry-After)"),
    502: ResponseSpec(ErrorBody, description="`respond: wait`: the node did not succeed"),
    503: ResponseSpec(ErrorBody, description="the database is unavailable (Retry-After)"),
}


async def read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The body, refused as soon as it is larger than `limit` bytes."""
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise BodyTooLarge(f"this trigger accepts bodies of at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"this trigger accepts bodies of at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in pairs:
        found.setdefault(name.lower(), value)
    return found


def _answer(accepted: HookAccepted, outcome: Outcome | None) -> Response[Any]:
    headers = {EXECUTION_HEADER: accepted.execution_id}
    if outcome is not None and outcome.done:
        return Response(outcome.output, status_code=200, headers=headers)
    if outcome is not None and outcome.ended:
        return error_response(
            502,
            "respond_node_failed",
            f"the execution ended without the output to answer with ({outcome.status})",
            [{"execution_id": accepted.execution_id, "status": outcome.status}],
            headers,
        )
    out = HookAcceptedOut(execution_id=accepted.execution_id)
    return Response(out, status_code=202, headers=headers)


class HookController(Controller):
    path = "/hooks"
    tags = ["hooks"]

    @post(
        "/{trigger_id:str}",
        status_code=202,
        request_max_body_size=MAX_BODY_BYTES,
        responses=_RESPONSES,
        security=[],
    )
    async def receive_hook(
        self,
        request: Request[Any, Any, Any],
        trigger_id: FromPath[str],
        receive_hook: NamedDependency[ReceiveHookHandler],
    ) -> Response[Any]:
        """Start a run of the trigger's workflow from this request (202 with its id), or
        find the one an earlier delivery with the same delivery id started."""
        trigger = await receive_hook.admit(trigger_id)
        try:
            accepted, response = await _handle(request, trigger, receive_hook)
        except ApplicationError as error:
            with contextlib.suppress(ApplicationError):
                await receive_hook.record(trigger, status_of(error), error_code=error.code)
            raise
        await receive_hook.record(
            trigger,
            response.status_code or 202,
            execution_id=accepted.execution_id,
            delivery_id=accepted.delivery_id,
        )
        return response


async def _handle(
    request: Request[Any, Any, Any], trigger: Trigger, hooks: ReceiveHookHandler
) -> tuple[HookAccepted, Response[Any]]:
    body = await read_body(request, trigger.max_body_bytes)
    hook = HookRequest(
        body=body,
        content_type=request.headers.get("content-type", ""),
        headers=_first_values(list(request.headers.items())),
        query=list(request.query_params.multi_items()),
    )
    accepted = await hooks.receive(trigger, hook)
    outcome = None
    if trigger.respond == "wait":
        outcome = await hooks.wait(trigger, accepted.execution_id)
    return accepted, _answer(accepted, outcome)
