"""What the secrets, tokens and schedules pages share: the field a refusal belongs to, the
notice shown after a redirect, and the page that asks before something is deleted.

A notice travels as a short key in `?notice=` (never a value the user typed), and each
page group keeps its own keys, so the base template's notices are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response import Template

from application.access import Principal
from application.errors import ApplicationError


def refused_field(error: ApplicationError, default: str) -> str:
    """The form field an InvalidInput names (its detail's `path`), else `default`."""
    for detail in error.details:
        if isinstance(detail, dict) and isinstance(detail.get("path"), str):
            return str(detail["path"])
    return default


def notice_of(request: Request[Any, Any, Any], notices: dict[str, str]) -> str | None:
    return notices.get(request.query_params.get("notice", ""))


@dataclass(frozen=True)
class Confirmation:
    """A question asked on its own page, so deleting works (and asks) without JavaScript."""

    title: str
    question: str
    action: str
    """Where the confirming form posts."""
    button: str
    back: str
    """Where *Keep it* goes."""
    nav: str
    warning: str | None = None


def confirmation_page(principal: Principal, asked: Confirmation) -> Template:
    context = {"principal": principal, "nav": asked.nav, "title": asked.title, "ask": asked}
    return Template("confirm.html", context=context)
