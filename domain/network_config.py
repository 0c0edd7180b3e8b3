"""Typed, validated configuration of the network node kinds: `http_request` and `ai_prompt`.

Parsed through `parse_node_config` like every kind (templates kept as strings until the
executor renders them). `HTTP_REQUEST_SHAPE` and `AI_PROMPT_SHAPE` describe each document:
its published JSON Schema and its simple field checks both come from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from domain.config_fields import ConfigField, ConfigShape
from domain.field_reader import FieldReader
from domain.problems import Problem, is_template, join_path, show

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_AI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_API_KEY_SECRET = "OPENAI_API_KEY"

_URL = ConfigField(
    "url",
    ("string",),
    "An http:// or https:// URL.",
    title="URL",
    required=True,
    min_length=1,
    format="uri",
)
_METHOD = ConfigField(
    "method",
    ("string",),
    "The HTTP method (any case).",
    default="GET",
    enum=HTTP_METHODS,
)
_QUERY = ConfigField(
    "query",
    ("object",),
    "Added to the URL's query string; null values are left out, lists repeat the name,"
    " objects are sent as compact JSON. Values may hold templates.",
    default={},
    template=False,
)
_HEADERS = ConfigField(
    "headers",
    ("object",),
    "Request headers: ASCII values on one line, which may hold templates.",
    default={},
    template=False,
    values=ConfigField("value", ("string",), "A header's value."),
)
_JSON_BODY = ConfigField(
    "json",
    (),
    "A JSON body (Content-Type: application/json); every string inside is a template."
    " Give json or body, not both.",
    title="JSON body",
)
_BODY = ConfigField(
    "body",
    ("string",),
    "A raw body, sent as UTF-8; set Content-Type yourself. Give json or body, not both.",
)
_STATUS = ConfigField("status", ("integer",), "An HTTP error status.", minimum=400, maximum=599)
_RETRY_ON_STATUS = ConfigField(
    "retry_on_status",
    ("array",),
    "Extra statuses to treat as retryable, such as [409, 423].",
    title="Retry on status",
    default=[],
    template=False,
    items=_STATUS,
)
_MAX_RESPONSE_BYTES = ConfigField(
    "max_response_bytes",
    ("integer",),
    "Read at most this much of the body; can lower the worker's limit, never raise it.",
    minimum=1,
)
DEFAULT_MAX_REDIRECTS = 5
_MAX_REDIRECTS = ConfigField(
    "max_redirects",
    ("integer",),
    "How many redirects (301, 302, 303, 307, 308) to follow; 0 returns the redirect"
    " itself as the response.",
    default=DEFAULT_MAX_REDIRECTS,
    minimum=0,
    maximum=20,
)
HTTP_REQUEST_SHAPE = ConfigShape(
    "HttpRequestConfig",
    (
        _URL,
        _METHOD,
        _QUERY,
        _HEADERS,
        _JSON_BODY,
        _BODY,
        _RETRY_ON_STATUS,
        _MAX_RESPONSE_BYTES,
        _MAX_REDIRECTS,
    ),
)

_BASE_URL = ConfigField(
    "base_url",
    ("string",),
    "The root of an OpenAI-compatible API, up to (not including) /chat/completions.",
    title="Base URL",
    default=DEFAULT_AI_BASE_URL,
    min_length=1,
    format="uri",
)
_MODEL = ConfigField(
    "model", ("string",), "The model name the server expects.", required=True, min_length=1
)
_SYSTEM = ConfigField(
    "system", ("string",), "A system message sent before the prompt.", min_length=1
)
_PROMPT = ConfigField("prompt", ("string",), "The user message.", required=True, min_length=1)
_TEMPERATURE = ConfigField(
    "temperature",
    ("number",),
    "Sampling temperature; the server's when not given.",
    minimum=0,
    maximum=2,
)
_MAX_TOKENS = ConfigField(
    "max_tokens", ("integer",), "The longest answer; the server's when not given.", minimum=1
)
_JSON_OUTPUT = ConfigField(
    "json_output",
    ("boolean",),
    "Ask for a JSON object and parse the answer.",
    title="JSON output",
    default=False,
)
_API_KEY_SECRET = ConfigField(
    "api_key_secret",
    ("string",),
    "The name of the workspace secret holding the API key.",
    title="API key secret",
    default=DEFAULT_API_KEY_SECRET,
    min_length=1,
)
AI_PROMPT_SHAPE = ConfigShape(
    "AiPromptConfig",
    (
        _MODEL,
        _PROMPT,
        _SYSTEM,
        _BASE_URL,
        _TEMPERATURE,
        _MAX_TOKENS,
        _JSON_OUTPUT,
        _API_KEY_SECRET,
    ),
)


@dataclass(frozen=True)
class HttpRequestConfig:
    """An HTTP call; `json` of None means no JSON body. 4xx in `retry_on_status` are retried.

    `max_redirects` of 0 means a redirect is the call's answer, not followed."""

    url: str
    method: str = "GET"
    query: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    body: str | None = None
    retry_on_status: tuple[int | str, ...] = ()
    max_response_bytes: int | str | None = None
    max_redirects: int | str = DEFAULT_MAX_REDIRECTS


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
    url = _url(r, _URL)
    query = r.read(_QUERY)
    headers = _headers(r)
    json_body = r.read(_JSON_BODY)
    body = r.read(_BODY)
    if r.has("json") and r.has("body"):
        r.report("body", "Give either json or body, not both.")
    codes = _status_codes(r)
    max_bytes = r.read(_MAX_RESPONSE_BYTES)
    redirects = r.read(_MAX_REDIRECTS)
    if r.problems or url is None:
        return None
    return HttpRequestConfig(
        url, method, query, headers, json_body, body, codes, max_bytes, redirects
    )


def _method(r: FieldReader) -> str:
    """The method in upper case: any case is accepted, which a schema's enum cannot say."""
    method = r.text(_METHOD.name) or _METHOD.default
    if is_template(method) or method.upper() in _METHOD.enum:
        return method if is_template(method) else method.upper()
    choices = ", ".join(_METHOD.enum)
    r.report(_METHOD.name, f"method must be one of {choices}, not {show(method)}.")
    return str(_METHOD.default)


def _url(r: FieldReader, described: ConfigField) -> str | None:
    key = described.name
    url: str | None = r.read(described)
    if url is None or is_template(url):
        return url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    r.report(key, f"{key} must be an http:// or https:// URL, not {show(url)}.")
    return None


def _headers(r: FieldReader) -> dict[str, str]:
    headers: dict[str, str] = r.read(_HEADERS)
    for name, value in headers.items():
        if not name.strip() or not isinstance(value, str):
            where = join_path(r.path("headers"), name)
            message = f"Header {name!r} must have a non-empty name and a string value."
            r.problems.append(Problem("invalid_config", where, message))
    return headers


def _status_codes(r: FieldReader) -> tuple[int | str, ...]:
    codes = r.raw.get(_RETRY_ON_STATUS.name)
    if codes is None:
        return ()
    if not isinstance(codes, list):
        r.report("retry_on_status", f"retry_on_status must be a list, not {show(codes)}.")
        return ()
    for index, code in enumerate(codes):
        if not (is_template(code) or _is_error_status(code)):
            where = join_path(r.path("retry_on_status"), index)
            bounds = f"from {_STATUS.minimum:.0f} to {_STATUS.maximum:.0f}"
            message = f"Status codes must be integers {bounds}, not {show(code)}."
            r.problems.append(Problem("invalid_config", where, message))
    return tuple(codes)


def _is_error_status(code: object) -> bool:
    low, high = _STATUS.minimum or 0, _STATUS.maximum or 0
    return isinstance(code, int) and not isinstance(code, bool) and low <= code <= high


def parse_ai_prompt(r: FieldReader) -> AiPromptConfig | None:
    base_url = _url(r, _BASE_URL) or DEFAULT_AI_BASE_URL
    model = r.read(_MODEL)
    system = r.read(_SYSTEM)
    prompt = r.read(_PROMPT)
    temperature = r.read(_TEMPERATURE)
    max_tokens = r.read(_MAX_TOKENS)
    json_output = r.read(_JSON_OUTPUT)
    secret = r.read(_API_KEY_SECRET) or DEFAULT_API_KEY_SECRET
    if r.problems or model is None or prompt is None:
        return None
    return AiPromptConfig(
        model, prompt, base_url, system, temperature, max_tokens, json_output, secret
    )
