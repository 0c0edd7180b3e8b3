"""The `ai_prompt` executor against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from adapters.nodes.ai_prompt import AiPromptExecutor
from adapters.nodes.guarded_transport import guarded_client
from adapters.nodes.network_guard import NetworkGuard
from application.ports.executors import Failed, NodeResult, Succeeded
from domain.definition import NodeKind
from tests.support.fake_servers import FakeChatServer
from tests.support.node_calls import node_call

API_KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def provider() -> Iterator[FakeChatServer]:
    with FakeChatServer(expected_key=API_KEY) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded_client(NetworkGuard(["127.0.0.1"])) as guarded:
        yield guarded


@pytest.fixture
def executor(client: httpx.AsyncClient) -> AiPromptExecutor:
    return AiPromptExecutor(client)


def prompt_config(provider: FakeChatServer, **extra: Any) -> dict[str, Any]:
    return {"base_url": provider.base_url, "model": "gpt-test", "prompt": "Say hi", **extra}


async def run(
    executor: AiPromptExecutor, config: dict[str, Any], key: str | None = API_KEY
) -> NodeResult:
    secrets = {} if key is None else {"OPENAI_API_KEY": key}
    return await executor.run(node_call(NodeKind.AI_PROMPT, config, secrets=secrets))


def succeeded(result: NodeResult) -> dict[str, Any]:
    assert isinstance(result, Succeeded), result
    assert isinstance(result.output, dict)
    return result.output


def failed(result: NodeResult) -> Failed:
    assert isinstance(result, Failed), result
    return result


async def test_a_completion_becomes_the_output(executor, provider):
    provider.reply = "Hi there."
    config = prompt_config(provider, system="Be brief.", temperature=0.2, max_tokens=20)
    output = succeeded(await run(executor, config))

    assert output == {
        "text": "Hi there.",
        "json": None,
        "model": "fake-model-1",
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        "finish_reason": "stop",
    }
    sent = provider.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.json() == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hi"},
        ],
        "temperature": 0.2,
        "max_tokens": 20,
    }


async def test_json_output_asks_for_and_parses_json(executor, provider):
    provider.reply = '{"sentiment": "positive", "score": 0.9}'
    output = succeeded(await run(executor, prompt_config(provider, json_output=True)))

    assert output["json"] == {"sentiment": "positive", "score": 0.9}
    assert provider.requests[-1].json()["response_format"] == {"type": "json_object"}


async def test_json_in_a_markdown_fence_is_parsed(executor, provider):
    provider.reply = '```json\n{"ok": true}\n```'
    output = succeeded(await run(executor, prompt_config(provider, json_output=True)))

    assert output["json"] == {"ok": True}


async def test_an_answer_that_is_not_json_fails_for_good(executor, provider):
    provider.reply = "Sure! Here is your JSON: {oops"
    error = failed(await run(executor, prompt_config(provider, json_output=True))).error

    assert (error.kind, error.retryable) == ("invalid_json_output", False)
    assert error.details is not None and "oops" in str(error.details["text_excerpt"])


async def test_a_rate_limit_is_retryable_with_its_wait(executor, provider):
    provider.fail_next(429, "Rate limit reached", headers={"Retry-After": "3"})
    error = failed(await run(executor, prompt_config(provider))).error

    assert (error.kind, error.retryable) == ("http_status", True)
    assert "Rate limit reached" in error.message
    assert error.details is not None
    assert error.details["status"] == 429 and error.details["retry_after_seconds"] == 3.0


async def test_a_server_error_is_retryable(executor, provider):
    provider.fail_next(500, "The server had an error")
    error = failed(await run(executor, prompt_config(provider))).error

    assert error.retryable is True
    assert "500" in error.message


async def test_a_rejected_key_fails_for_good_without_quoting_the_key(executor, provider):
    wrong_key = "sk-wrong-key-fedcba9876543210"
    error = failed(await run(executor, prompt_config(provider), key=wrong_key)).error

    assert (error.kind, error.retryable) == ("http_status", False)
    assert "Incorrect API key provided" in error.message
    assert wrong_key not in repr(error.as_dict())
    assert provider.requests[-1].headers["authorization"] == f"Bearer {wrong_key}"


async def test_a_missing_secret_fails_before_any_request(executor, provider):
    error = failed(await run(executor, prompt_config(provider), key=None)).error

    assert (error.kind, error.retryable) == ("missing_secret", False)
    assert "OPENAI_API_KEY" in error.message
    assert provider.requests == []


async def test_the_key_is_read_from_the_named_secret(executor, provider):
    config = prompt_config(provider, api_key_secret="MY_LLM_KEY")
    call = node_call(NodeKind.AI_PROMPT, config, secrets={"MY_LLM_KEY": API_KEY})

    succeeded(await executor.run(call))
    assert provider.requests[-1].headers["authorization"] == f"Bearer {API_KEY}"


async def test_the_provider_goes_through_the_network_guard(provider):
    async with guarded_client(NetworkGuard()) as client:
        result = await run(AiPromptExecutor(client), prompt_config(provider))

    error = failed(result).error
    assert (error.kind, error.retryable) == ("address_not_allowed", False)
    assert provider.requests == []


async def test_an_unreachable_provider_is_retryable(executor):
    with socket.socket() as bound_but_not_listening:
        bound_but_not_listening.bind(("127.0.0.1", 0))
        port = bound_but_not_listening.getsockname()[1]
        config = {"base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "prompt": "p"}
        error = failed(await run(executor, config)).error

    assert (error.kind, error.retryable) == ("connection_error", True)
