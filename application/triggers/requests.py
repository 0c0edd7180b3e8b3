"""How a hook request becomes a run's input and, perhaps, an idempotency key.

The body is read by its content type: JSON, form fields
(`application/x-www-form-urlencoded`: a field sent once is a string, a field repeated is a
list), other text as a string, nothing as null. The run's input is `{"body", "headers",
"query"}` unless the trigger has an input template, rendered in the expression sandbox
with those three names in scope.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from application.document_limits import check_value
from application.errors import ApplicationError
from application.expressions import render
from application.triggers.records import Trigger
from domain.errors import ExpressionError

MAX_DELIVERY_ID = 200
"""A longer delivery id is hashed into the idempotency key."""
MAX_FORM_FIELDS = 1000


class InvalidBody(ApplicationError):
    """The request body cannot be read as its content type says."""

    code = "invalid_body"


class InputTemplateFailed(ApplicationError):
    """The trigger's input template could not be evaluated over this request."""

    code = "input_template_failed"


@dataclass(frozen=True)
class HookRequest:
    """What the trigger reads of an HTTP request: headers with lower-cased names."""

    body: bytes
    content_type: str
    headers: Mapping[str, str]
    query: Sequence[tuple[str, str]] = ()


def parse_body(body: bytes, content_type: str) -> Any:
    """The body as JSON, form fields, text, or None when empty. Without a content type,
    a body that parses as JSON is JSON."""
    media = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return None
    if media == "application/json" or media.endswith("+json"):
        return _json(body)
    if media == "application/x-www-form-urlencoded":
        return _form(body)
    if not media:
        try:
            return _json(body)
        except InvalidBody:
            pass  # then it is text
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        kind = media or "body without a content type"
        raise InvalidBody(f"a {kind} must be UTF-8 text") from None


def _json(body: bytes) -> Any:
    try:
        value = json.loads(body)
    except RecursionError:
        raise InvalidBody("the JSON body nests too deeply") from None
    except ValueError as error:
        raise InvalidBody(f"the body is not valid JSON: {error}") from None
    check_value(value, "body")
    return value


def _form(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidBody(f"the form body cannot be read: {error}") from None
    fields = grouped(pairs)
    check_value(fields, "body")
    return fields


def grouped(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Pairs as a mapping: a name given once maps to its value, a repeated one to a list."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name not in found:
            found[name] = value
        elif isinstance(found[name], list):
            found[name].append(value)
        else:
            found[name] = [found[name], value]
    return found


@dataclass(frozen=True)
class HookInput:
    """The run's input, and the delivery id read from the request (None: none given)."""

    input: Any
    delivery_id: str | None


def hook_input(trigger: Trigger, request: HookRequest) -> HookInput:
    body = parse_body(request.body, request.content_type)
    headers = request.headers
    scope = {
        "body": body,
        "headers": {name: headers[name] for name in trigger.headers if name in headers},
        "query": grouped(request.query),
    }
    check_value(scope["query"], "query")
    return HookInput(run_input(trigger, scope), delivery_id(trigger, request, body))


def run_input(trigger: Trigger, scope: dict[str, Any]) -> Any:
    if trigger.input_template is None:
        return scope
    try:
        value = render(trigger.input_template, scope, node_id="trigger")
    except ExpressionError as error:
        raise InputTemplateFailed(str(error)) from None
    check_value(value, "input")
    return value


def delivery_id(trigger: Trigger, request: HookRequest, body: Any) -> str | None:
    if trigger.delivery_id_header is not None:
        found = request.headers.get(trigger.delivery_id_header)
        return found.strip() or None if found is not None else None
    if trigger.delivery_id_path is not None:
        value: Any = body
        for key in trigger.delivery_id_path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value) or None
    return None


def idempotency_key(trigger_id: str, delivery: str) -> str:
    """The run's idempotency key for one delivery of one trigger."""
    if len(delivery) > MAX_DELIVERY_ID:
        delivery = "sha256:" + hashlib.sha256(delivery.encode("utf-8")).hexdigest()
    return f"trigger:{trigger_id}:{delivery}"


class BodyTooLarge(ApplicationError):
    """The request body is larger than this trigger accepts."""

    code = "body_too_large"
