"""Typed, validated configuration of the network node kinds: `http_request` and `ai_prompt`.

Parsed through `parse_node_config` like every kind (templates kept as strings until the
executor renders them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from domain.field_reader import FieldReader
from domain.problems import Problem, is_template, join_path, show

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_AI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_API_KEY_SECRET = "OPENAI_API_KEY"


@dataclass(frozen=True)
class HttpRequestConfig:
    """An HTTP call; `json` of None means no JSON body. 4xx in `retry_on_status` are retried."""

    url: str
    method: str = "GET"
    query: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    body: str | None = None
    retry_on_status: tuple[int | str, ...] = ()
    max_response_bytes: int | str | None = None


@dataclass(frozen=True)
class AiPromptConfig:
    """A chat completion against an OpenAI-compatible API, keyed by a named secret."""

    model: str
    prompt: str
    base_url: str = DEFAULT_AI_BASE_URL
    system: str | None = None
    temperature: float | str | None = None
    max_tokens: int | str | None = None
    json_output: bool | str = False
    api_key_secret: str = DEFAULT_API_KEY_SECRET


def parse_http_request(r: FieldReader) -> HttpRequestConfig | None:
    method = _method(r)
    url = _url(r, "url", required=True)
    query = r.mapping("query") or {}
    headers = _headers(r)
    json_body = r.json("json")
    body = r.text("body", allow_empty=True)
    if r.has("json") and r.has("body"):
        r.report("body", "Give either json or body, not both.")
    codes = _status_codes(r)
    max_bytes = r.integer("max_response_bytes", minimum=1)
    if r.problems or url is None:
        return None
    return HttpRequestConfig(url, method, query, headers, json_body, body, codes, max_bytes)


def _method(r: FieldReader) -> str:
    method = r.text("method") or "GET"
    if is_template(method) or method.upper() in HTTP_METHODS:
        return method if is_template(method) else method.upper()
    r.report("method", f"method must be one of {', '.join(HTTP_METHODS)}, not {show(method)}.")
    return "GET"


def _url(r: FieldReader, key: str, *, required: bool = False) -> str | None:
    url = r.text(key, required=required)
    if url is None or is_template(url):
        return url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    r.report(key, f"{key} must be an http:// or https:// URL, not {show(url)}.")
    return None


def _headers(r: FieldReader) -> dict[str, str]:
    headers = r.mapping("headers") or {}
    for name, value in headers.items():
        if not name.strip() or not isinstance(value, str):
            where = join_path(r.path("headers"), name)
            message = f"Header {name!r} must have a non-empty name and a string value."
            r.problems.append(Problem("invalid_config", where, message))
    return headers


def _status_codes(r: FieldReader) -> tuple[int | str, ...]:
    codes = r.raw.get("retry_on_status")
    if codes is None:
        return ()
    if not isinstance(codes, list):
        r.report("retry_on_status", f"retry_on_status must be a list, not {show(codes)}.")
        return ()
    for index, code in enumerate(codes):
        if not (is_template(code) or _is_error_status(code)):
            where = join_path(r.path("retry_on_status"), index)
            message = f"Status codes must be integers from 400 to 599, not {show(code)}."
            r.problems.append(Problem("invalid_config", where, message))
    return tuple(codes)


def _is_error_status(code: object) -> bool:
    return isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599


def parse_ai_prompt(r: FieldReader) -> AiPromptConfig | None:
    base_url = _url(r, "base_url") or DEFAULT_AI_BASE_URL
    model = r.text("model", required=True)
    system = r.text("system")
    prompt = r.text("prompt", required=True)
    temperature = r.number("temperature", minimum=0, maximum=2)
    max_tokens = r.integer("max_tokens", minimum=1)
    json_output = r.flag("json_output", default=False)
    secret = r.text("api_key_secret") or DEFAULT_API_KEY_SECRET
    if r.problems or model is None or prompt is None:
        return None
    return AiPromptConfig(
        model, prompt, base_url, system, temperature, max_tokens, json_output, secret
    )
