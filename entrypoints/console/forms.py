"""Reading the console's HTML forms: JSON fields and checkboxes, with errors to show."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from litestar import Request


@dataclass(frozen=True)
class JsonField:
    text: str
    value: Any = None
    error: str | None = None


def read_json_field(text: str, what: str) -> JsonField:
    """An optional JSON value typed by a person: blank is null."""
    if not text.strip():
        return JsonField(text, None)
    try:
        return JsonField(text, json.loads(text))
    except json.JSONDecodeError as error:
        return JsonField(
            text,
            None,
            f"{what} is not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}",
        )


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields as text (the last value of a repeated one)."""
    form = await request.form()
    return {key: str(value) for key, value in form.items()}
