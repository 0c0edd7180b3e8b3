"""What a trigger's settings may be, and the defaults each verification brings.

Every check raises `InvalidInput` with the field's name, so the API answers 422 with a
path a person can act on.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from jinja2 import TemplateSyntaxError

from application.expressions import check_template
from application.input_errors import InvalidInput
from application.secret_references import reads_secrets
from application.triggers.records import Trigger
from domain.problems import is_template

VERIFICATIONS = ("none", "header_secret", "github", "stripe", "hmac_sha256")
NEEDS_SECRET = frozenset(VERIFICATIONS) - {"none"}
RESPONSES = ("accepted", "wait")

DEFAULT_HEADER = {"header_secret": "x-webhook-secret", "hmac_sha256": "x-signature-256"}
"""The header a shared secret or a signature comes in, unless the trigger names one."""
DEFAULT_DELIVERY_HEADER = {"github": "x-github-delivery"}
DEFAULT_DELIVERY_PATH = {"stripe": "id"}

MAX_WAIT_SECONDS = 30.0
MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest `max_body_bytes` a trigger may set (the hook route reads no more)."""
MAX_RATE_LIMIT = 10_000.0
MAX_TOLERANCE_SECONDS = 24 * 3600
MAX_HEADERS = 50

_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_BODY_PATH = re.compile(r"^[A-Za-z0-9_-]{1,100}(\.[A-Za-z0-9_-]{1,100}){0,15}$")
TRIGGER_ID_BYTES = 24
"""192 random bits: a trigger's id is its URL's only secret."""


def new_trigger_id() -> str:
    return f"trg_{secrets.token_urlsafe(TRIGGER_ID_BYTES)}"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def header_name(value: str, field: str) -> str:
    """`value` lower-cased, if it is an HTTP header name."""
    if not _HEADER_NAME.match(value):
        raise InvalidInput(field, f"{value[:100]!r} is not an HTTP header name")
    return value.lower()


def header_names(values: Iterable[str]) -> tuple[str, ...]:
    names = [header_name(value, f"headers[{i}]") for i, value in enumerate(values)]
    if len(names) > MAX_HEADERS:
        raise InvalidInput("headers", f"at most {MAX_HEADERS} headers can be passed on")
    return tuple(dict.fromkeys(names))


def check_trigger(trigger: Trigger) -> None:
    """Refuse settings that could never work, naming the field."""
    _check_choice(trigger.verification, VERIFICATIONS, "verification")
    _check_choice(trigger.respond, RESPONSES, "respond")
    _check_range("wait_seconds", trigger.wait_seconds, 0, MAX_WAIT_SECONDS)
    _check_range("max_body_bytes", trigger.max_body_bytes, 1, MAX_BODY_BYTES)
    _check_range("tolerance_seconds", trigger.tolerance_seconds, 1, MAX_TOLERANCE_SECONDS)
    if not 0 < trigger.rate_limit <= MAX_RATE_LIMIT:
        raise InvalidInput("rate_limit", f"rate_limit is above 0 and at most {MAX_RATE_LIMIT:g}")
    if trigger.delivery_id_header and trigger.delivery_id_path:
        raise InvalidInput("delivery_id_path", "name a delivery id header or a body path, not both")
    if trigger.delivery_id_path is not None and not _BODY_PATH.match(trigger.delivery_id_path):
        raise InvalidInput("delivery_id_path", "a body path is keys joined by dots, like data.id")
    check_input_template(trigger.input_template)


def _check_choice(value: str, allowed: tuple[str, ...], field: str) -> None:
    if value not in allowed:
        raise InvalidInput(field, f"{field} is one of {', '.join(allowed)}, not {value!r}")


def _check_range(field: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InvalidInput(field, f"{field} is between {low:g} and {high:g}")


def check_input_template(template: Any, path: str = "input") -> None:
    """Every template string in `template` must parse and must not read secrets (a hook's
    input is built from the request only)."""
    if isinstance(template, str):
        if not is_template(template):
            return
        try:
            check_template(template)
        except TemplateSyntaxError as error:
            message = f"syntax error on line {error.lineno}: {error.message}"
            raise InvalidInput(path, message) from None
        if reads_secrets(template):
            raise InvalidInput(path, "a trigger's input template cannot read secrets")
        return
    if isinstance(template, dict):
        for key, item in template.items():
            check_input_template(item, f"{path}.{key}")
    elif isinstance(template, list):
        for index, item in enumerate(template):
            check_input_template(item, f"{path}[{index}]")


def with_defaults(trigger: Trigger) -> Trigger:
    """The verification's header and delivery id source, where the trigger names none."""
    header = trigger.verify_header or DEFAULT_HEADER.get(trigger.verification)
    delivery_header = trigger.delivery_id_header
    delivery_path = trigger.delivery_id_path
    if delivery_header is None and delivery_path is None:
        delivery_header = DEFAULT_DELIVERY_HEADER.get(trigger.verification)
        delivery_path = DEFAULT_DELIVERY_PATH.get(trigger.verification)
    return replace(
        trigger,
        verify_header=header.lower() if header else None,
        delivery_id_header=delivery_header.lower() if delivery_header else None,
        delivery_id_path=delivery_path,
    )
