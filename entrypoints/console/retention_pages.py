"""The retention page: how long the workspace keeps its history. Every role reads it;
admins change it with the form (the workers apply it on their next pass)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from application.access import Principal, Role
from application.retention import RetentionSettings
from domain.retention import RetentionPolicy
from entrypoints.console.admin_forms import notice_of
from entrypoints.console.forms import form_fields

NOTICES = {"retention-saved": "Retention saved. Workers apply it on their next pass."}
FIELDS = ("keep_finished_days", "keep_failed_days", "keep_succeeded_hours", "keep_audit_days")
OPTIONAL = {"keep_succeeded_hours"}
"""Fields a blank box leaves unset."""


def _settings(request: Request[Any, Any, Any]) -> RetentionSettings:
    settings: RetentionSettings = request.app.state["runtime"].retention_settings()
    return settings


def _values_of(policy: RetentionPolicy) -> dict[str, str]:
    """The policy as the form's text boxes show it."""
    shown = {name: getattr(policy, name) for name in FIELDS}
    return {name: "" if value is None else str(value) for name, value in shown.items()}


def _parsed(values: dict[str, str]) -> tuple[dict[str, int | None], dict[str, str]]:
    """The form's numbers, and a message for each box that does not hold one."""
    numbers: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for name in FIELDS:
        text = values.get(name, "").strip()
        if not text and name in OPTIONAL:
            numbers[name] = None
        elif text.isdigit() and len(text) <= 6:
            numbers[name] = int(text)
        else:
            errors[name] = "Give a whole number."
    return numbers, errors


def _page(
    request: Request[Any, Any, Any],
    principal: Principal,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    context = {
        "principal": principal,
        "nav": "retention",
        "title": "Retention",
        "values": values,
        "errors": errors or {},
        "editable": principal.role is Role.ADMIN,
        "page_notice": notice_of(request, NOTICES) if status == 200 else None,
    }
    return Template("retention.html", context=context, status_code=status)


class RetentionPages(Controller):
    path = "/console/retention"
    include_in_schema = False

    @get("/")
    async def show_retention(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> Template:
        policy = await _settings(request).policy_of(principal.workspace_id)
        return _page(request, principal, _values_of(policy))

    @post("/", status_code=303)
    async def save_retention(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        values = await form_fields(request)
        numbers, errors = _parsed(values)
        if errors:
            return _page(request, principal, values, errors, 422)
        policy = RetentionPolicy(
            keep_finished_days=numbers["keep_finished_days"] or 0,
            keep_failed_days=numbers["keep_failed_days"] or 0,
            keep_succeeded_hours=numbers["keep_succeeded_hours"],
            keep_audit_days=numbers["keep_audit_days"] or 0,
        )
        problems = {problem.field: problem.message for problem in policy.problems()}
        if problems:
            return _page(request, principal, values, problems, 422)
        await _settings(request).set_policy(principal.workspace_id, policy, principal.actor)
        return Redirect("/console/retention?notice=retention-saved", status_code=303)
