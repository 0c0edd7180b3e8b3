"""The `ai_prompt` node: one chat completion from an OpenAI-compatible API.

The API key comes from the secret the node names and is sent only as a bearer token. It
is scrubbed from anything the provider says back before that reaches an error, because
some providers quote the key they rejected.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx

from adapters.nodes.http_common import (
    decode_text,
    excerpt,
    lower_headers,
    read_capped,
    status_details,
    time_budget,
    timeout_failure,
    transport_failure,
)
from adapters.nodes.network_guard import AddressNotAllowed
from application.nodes.rendered_config import invalid_config, typed_config
from application.ports.executors import Failed, NodeCall, NodeResult, Succeeded
from application.redaction import REDACTED
from domain.network_config import AiPromptConfig
from domain.policies import NodeError
from domain.problems import Problem

DEFAULT_TIMEOUT_SECONDS = 120.0
MAX_RESPONSE_BYTES = 10_000_000
# The statuses OpenAI's own clients retry: timeouts, conflicts, rate limits, server errors.
RETRYABLE_STATUSES = frozenset({408, 409, 429})
_CODE_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(?P<inner>.*)\n```$", re.DOTALL)


class _ResponseTooLarge(Exception):
    """The AI provider's answer is larger than MAX_RESPONSE_BYTES."""

    def __str__(self) -> str:
        return f"the answer is larger than {MAX_RESPONSE_BYTES} bytes"


class AiPromptExecutor:
    """Runs `ai_prompt` nodes with a client built by `guarded_client`."""

    def __init__(
        self, client: httpx.AsyncClient, *, default_timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self._client = client
        self._default_timeout = default_timeout

    async def run(self, call: NodeCall) -> NodeResult:
        config = typed_config(call, AiPromptConfig)
        if isinstance(config, Failed):
            return config
        payload = _payload(config)
        if isinstance(payload, Failed):
            return payload
        key = call.secrets.get(config.api_key_secret)
        if not key:
            return _missing_secret(config.api_key_secret)
        url = config.base_url.rstrip("/") + "/chat/completions"
        what = f"POST {url}"
        budget = time_budget(call.now, call.deadline, self._default_timeout)
        if budget <= 0:
            return timeout_failure(what, 0)
        try:
            async with asyncio.timeout(budget):
                status, headers, text = await self._post(url, key, payload, budget, call)
        except TimeoutError:
            return timeout_failure(what, budget)
        except (httpx.TransportError, AddressNotAllowed) as error:
            return transport_failure(error, what)
        except (httpx.RequestError, _ResponseTooLarge) as error:
            return _invalid_response(f"{what} failed: {str(error) or type(error).__name__}")
        if status >= 400:
            return _provider_failure(status, headers, _redact(text, key), call)
        return _completion(text, config, key)

    async def _post(
        self, url: str, key: str, payload: dict[str, Any], budget: float, call: NodeCall
    ) -> tuple[int, dict[str, str], str]:
        # The attempt's trace context (`traceparent`), so a traced provider or gateway
        # joins the execution's trace, as an http_request node's service does.
        headers = {
            **call.trace_headers,
            "Authorization": f"Bearer {key}",
            "Accept": "application/json",
        }
        timeout = httpx.Timeout(budget)
        async with self._client.stream(
            "POST", url, json=payload, headers=headers, timeout=timeout
        ) as response:
            content, truncated = await read_capped(response, MAX_RESPONSE_BYTES)
        if truncated:
            raise _ResponseTooLarge
        return response.status_code, lower_headers(response.headers), decode_text(response, content)


def _payload(config: AiPromptConfig) -> dict[str, Any] | Failed:
    """The chat-completions request body, or a failure for values rendering left unusable."""
    problems = [
        Problem("invalid_config", f"config.{name}", f"{name} must be a {kind}.")
        for name, kind, value in (
            ("temperature", "number", config.temperature),
            ("max_tokens", "whole number", config.max_tokens),
            ("json_output", "boolean", config.json_output),
        )
        if isinstance(value, str)
    ]
    if problems:
        return invalid_config(problems)
    messages = [{"role": "system", "content": config.system}] if config.system else []
    messages.append({"role": "user", "content": config.prompt})
    payload: dict[str, Any] = {"model": config.model, "messages": messages}
    if config.temperature is not None:
        payload["temperature"] = config.temperature
    if config.max_tokens is not None:
        payload["max_tokens"] = config.max_tokens
    if config.json_output:
        payload["response_format"] = {"type": "json_object"}
    return payload


def _completion(text: str, config: AiPromptConfig, key: str) -> NodeResult:
    try:
        document = json.loads(text)
        choice = document["choices"][0]
        content = choice["message"].get("content") or ""
        if not isinstance(content, str):
            raise TypeError("message content is not a string")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        shown = excerpt(_redact(text, key))
        return _invalid_response(f"The AI provider's answer has no completion ({error}): {shown}")
    output: dict[str, Any] = {
        "text": content,
        "json": None,
        "model": str(document.get("model") or config.model),
        "usage": _usage(document.get("usage")),
        "finish_reason": str(choice.get("finish_reason") or ""),
    }
    if config.json_output:
        try:
            output["json"] = json.loads(_strip_code_fence(content))
        except ValueError as error:
            message = f"The model was asked for JSON but answered something else ({error})."
            details: dict[str, object] = {"text_excerpt": excerpt(content)}
            return Failed(NodeError("invalid_json_output", message, False, details))
    return Succeeded(output=output)


def _usage(raw: object) -> dict[str, int | None]:
    found = raw if isinstance(raw, dict) else {}
    names = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {name: found[name] if isinstance(found.get(name), int) else None for name in names}


def _strip_code_fence(content: str) -> str:
    """Some compatible servers wrap JSON in a Markdown fence despite the response format."""
    match = _CODE_FENCE.match(content.strip())
    return match.group("inner") if match else content


def _provider_failure(status: int, headers: dict[str, str], text: str, call: NodeCall) -> Failed:
    retryable = status in RETRYABLE_STATUSES or status >= 500
    message = f"The AI provider answered {status}: {_provider_message(text)}"
    details = status_details(status, text, headers, call.now, call.sensitive_texts)
    return Failed(NodeError("http_status", message, retryable=retryable, details=details))


def _provider_message(text: str) -> str:
    """The `error.message` of an OpenAI-style error body, else an excerpt of the body."""
    try:
        document = json.loads(text)
    except ValueError:
        return excerpt(text) or "(empty body)"
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return excerpt(error["message"])
    if isinstance(error, str):
        return excerpt(error)
    return excerpt(text)


def _redact(text: str, key: str) -> str:
    return text.replace(key, REDACTED) if key else text


def _missing_secret(name: str) -> Failed:
    message = f"The secret {name!r} is not set in this workspace; add it to run this node."
    details: dict[str, object] = {"secret": name}
    return Failed(NodeError("missing_secret", message, retryable=False, details=details))


def _invalid_response(message: str) -> Failed:
    return Failed(NodeError("invalid_response", message, retryable=True))
