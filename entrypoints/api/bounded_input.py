"""The API's request bounds: a JSON body, path and query keep `document_limits` or get a 422.

Litestar decodes a JSON body with msgspec, which stops at Python's recursion limit with a
`RecursionError` (a 500 if let through): that becomes the nesting refusal too. The
decoded body is then walked once, so a NUL character, an integer beyond 64 bits or a
too-deep value is refused with its path before a use case sees it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from application.document_limits import MAX_NESTING, NUL, check_value
from application.input_errors import InvalidInput


class BoundedRequest(Request[Any, Any, Any]):
    """A request whose `json()` answers only values within the documented bounds."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise InvalidInput(
                "", f"the body's arrays and objects nest deeper than {MAX_NESTING} levels"
            ) from None
        check_value(value)
        return value


def refuse_nul_in_url(request: Request[Any, Any, Any]) -> None:
    """A `before_request` hook: NUL in a path or query value is refused with its name.

    Such a value could only reach the database, which cannot hold it.
    """
    check_value(request.path_params)
    for name, value in request.query_params.multi_items():
        if NUL in name or (isinstance(value, str) and NUL in value):
            raise InvalidInput(name.replace(NUL, ""), "a NUL character (\\u0000) is not accepted")
