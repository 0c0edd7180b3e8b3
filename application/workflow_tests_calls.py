"""The requests of a workflow test: choosing a scripted answer by the request a node
rendered (an answer's `when`), and expectations on the requests each node sent
(`expect.calls`).

A request is seen as a server would see it: method, full URL, headers (names in lower
case) and body (decoded from JSON when it is JSON, else text). Bodies and `when` bodies
are compared by `contains`: an object names only the fields it checks, at any depth; an
array has as many items, each compared the same way; anything else is compared exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar


@dataclass(frozen=True)
class SentRequest:
    """A request a network node sent in a test, as rendered."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header values by lower-case name."""
    text: str = ""
    """The body as sent ("" for none)."""

    @property
    def body(self) -> Any:
        """The body decoded from JSON; the text when it is not JSON; None when empty."""
        if not self.text:
            return None
        try:
            return json.loads(self.text)
        except ValueError:
            return self.text

    def view(self) -> dict[str, Any]:
        """The request as `expect.calls` describes one."""
        return {
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
            "body": self.body,
        }


def contains(expected: Any, actual: Any) -> bool:
    """Whether `actual` holds `expected`: every field an object names, recursively; an
    array item by item (as many of them); any other value exactly."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if is_number(expected) and is_number(actual):
        return bool(expected == actual)  # 1 and 1.0 are one JSON number
    return type(expected) is type(actual) and bool(expected == actual)


def is_number(value: Any) -> bool:
    """A JSON number (a bool is not one, though Python counts it as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---- Choosing an answer by the request ----------------------------------------------------


@dataclass(frozen=True)
class RequestMatch:
    """An answer's `when`: the request it answers. Each field left unset is not checked."""

    url: str | None = None
    """The whole URL, query included."""
    url_contains: str | None = None
    method: str | None = None
    """Upper case."""
    body: Any = None
    has_body: bool = False
    """Whether `body` is checked (`body: null` expects no body)."""
    body_contains: str | None = None
    """A text the body, as sent, contains."""

    def matches(self, request: SentRequest) -> bool:
        return (
            (self.url is None or request.url == self.url)
            and (self.url_contains is None or self.url_contains in request.url)
            and (self.method is None or request.method == self.method)
            and (not self.has_body or contains(self.body, request.body))
            and (self.body_contains is None or self.body_contains in request.text)
        )


class Conditional(Protocol):
    """A scripted answer, which may say which request it answers."""

    @property
    def when(self) -> RequestMatch | None: ...


Answer = TypeVar("Answer", bound=Conditional)


def choose_answer(answers: Sequence[Answer], attempt: int, request: SentRequest) -> Answer | None:
    """The answer to attempt `attempt` (from 1) of a node that sent `request`: the first
    answer whose `when` matches it, else the attempt-th of the answers without `when`."""
    for answer in answers:
        if answer.when is not None and answer.when.matches(request):
            return answer
    in_order = [answer for answer in answers if answer.when is None]
    return in_order[attempt - 1] if 0 < attempt <= len(in_order) else None


# ---- Expectations on the calls made -------------------------------------------------------


@dataclass(frozen=True)
class CallExpectation:
    """One request a node is expected to have sent; None (or `has_body` False) means
    "not checked". Headers are a subset, named in any case; the body is compared by
    `contains`."""

    method: str | None = None
    url: str | None = None
    headers: Mapping[str, str] | None = None
    body: Any = None
    has_body: bool = False

    def view(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        if self.method is not None:
            shown["method"] = self.method
        if self.url is not None:
            shown["url"] = self.url
        if self.headers is not None:
            shown["headers"] = dict(self.headers)
        if self.has_body:
            shown["body"] = self.body
        return shown

    def shown(self, actual: Mapping[str, Any]) -> dict[str, Any]:
        """The request `actual` (a `SentRequest.view()`) laid out like `view()`, so the
        two are equal when it matches: a body that holds the expected one shows as
        expected, one that does not shows whole."""
        shown: dict[str, Any] = {}
        if self.method is not None:
            shown["method"] = actual.get("method")
        if self.url is not None:
            shown["url"] = actual.get("url")
        if self.headers is not None:
            sent = actual.get("headers") or {}
            shown["headers"] = {name: sent.get(name.lower()) for name in self.headers}
        if self.has_body:
            body = actual.get("body")
            shown["body"] = self.body if contains(self.body, body) else body
        return shown


def expected_calls(expect: Mapping[str, Sequence[CallExpectation]]) -> dict[str, Any]:
    """The calls expectation as the test file wrote it, by node."""
    return {node: [call.view() for call in calls] for node, calls in expect.items()}


def shown_calls(
    expect: Mapping[str, Sequence[CallExpectation]], sent: Mapping[str, Sequence[Any]]
) -> dict[str, Any]:
    """The requests each expected node sent, laid out like `expected_calls`: a request
    past the expected ones shows its method, URL and body; a missing one is absent."""
    shown: dict[str, Any] = {}
    for node, calls in expect.items():
        made = list(sent.get(node, ()))
        paired = [call.shown(request) for call, request in zip(calls, made, strict=False)]
        extra = [
            {key: request.get(key) for key in ("method", "url", "body")}
            for request in made[len(calls) :]
        ]
        shown[node] = paired + extra
    return shown
