"""Reading the console's HTML forms: JSON fields and checkboxes, with errors to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from application.document_limits import NUL
from entrypoints.document_text import UnreadableDocument, read_json


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
        return JsonField(text, read_json(text))
    except UnreadableDocument as error:
        return JsonField(text, None, f"{what}: {error}")


def field_refusal(fields: dict[str, str]) -> str | None:
    """Why the form cannot be taken as it is (a field holds a NUL character), or None."""
    for name, value in fields.items():
        if NUL in value:
            return f"The field {name!r} holds a NUL character (\\u0000), which cannot be stored."
    return None


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields as text (the last value of a repeated one)."""
    form = await request.form()
    return {key: str(value) for key, value in form.items()}
