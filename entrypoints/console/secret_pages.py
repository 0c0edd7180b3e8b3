"""The secrets page (admins): names and dates, create, rotate and delete.

A value goes in through a POST body and never comes back out: the page lists names and
dates only, a refused form is shown again with the value field empty, and no redirect
carries anything the user typed.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from application.access import Principal, Role
from application.errors import Conflict, NotFound
from application.input_errors import InvalidInput
from application.queries.admin import AdminQueries
from application.use_cases.secrets import (
    CreateSecretHandler,
    DeleteSecret,
    DeleteSecretHandler,
    PutSecret,
    RotateSecretHandler,
    SecretsUnavailable,
)
from entrypoints.console.admin_forms import (
    Confirmation,
    confirmation_page,
    notice_of,
    refused_field,
)
from entrypoints.console.forms import field_refusal, form_fields

NOTICES = {
    "secret-created": "Secret saved. Its value will not be shown again.",
    "secret-rotated": "Secret rotated. Executions read the new value from their next node on.",
    "secret-deleted": "Secret deleted.",
}


def _value_of(fields: dict[str, str]) -> str:
    # Browsers send a textarea's line breaks as CRLF; a pasted key or certificate is
    # meant with the LF it was copied with.
    return fields.get("value", "").replace("\r\n", "\n")


def _refusals(name: str, value: str) -> dict[str, str]:
    """Problems the page finds before asking the use case (which checks the rest)."""
    errors: dict[str, str] = {}
    if refusal := field_refusal({"name": name}):
        errors["name"] = refusal
    elif not name:
        errors["name"] = "Give the secret a name (templates read it as secrets.NAME)."
    if refusal := field_refusal({"value": value}):
        errors["value"] = refusal
    elif not value:
        errors["value"] = "Give the secret a value."
    return errors


async def _secrets_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    admin_queries: AdminQueries,
    status: int = 200,
    **context: Any,
) -> Template:
    values = {
        "principal": principal,
        "nav": "secrets",
        "title": "Secrets",
        "secrets": await admin_queries.secrets(principal.workspace_id),
        "page_notice": notice_of(request, NOTICES) if status == 200 else None,
        "name": "",
        "errors": {},
        "rotating": None,
        "rotate_error": None,
        **context,
    }
    return Template("secrets.html", context=values, status_code=status)


class SecretPages(Controller):
    path = "/console/secrets"
    include_in_schema = False

    @get("/")
    async def list_secrets(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
    ) -> Template:
        principal.require(Role.ADMIN)
        return await _secrets_page(request, principal, admin_queries)

    @post("/", status_code=303)
    async def create_secret(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        create_secret: NamedDependency[CreateSecretHandler],
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        fields = await form_fields(request)
        name = fields.get("name", "").strip()
        value = _value_of(fields)
        errors = _refusals(name, value)
        status = 422
        if not errors:
            try:
                await create_secret(
                    PutSecret(principal.workspace_id, name, value, actor=principal.actor)
                )
            except InvalidInput as invalid:
                errors[refused_field(invalid, "value")] = invalid.message
            except Conflict as taken:
                errors["name"], status = taken.message, 409
            except SecretsUnavailable as unavailable:
                errors["value"], status = unavailable.message, 503
        if errors:
            # The name comes back so it can be corrected; the value never does.
            return await _secrets_page(
                request, principal, admin_queries, status, name=name, errors=errors
            )
        return Redirect("/console/secrets?notice=secret-created", status_code=303)

    @post("/{name:str}/rotate", status_code=303)
    async def rotate_secret(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
        rotate_secret: NamedDependency[RotateSecretHandler],
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        value = _value_of(await form_fields(request))
        error = _refusals(name, value).get("value")
        status = 422
        if error is None:
            try:
                await rotate_secret(
                    PutSecret(principal.workspace_id, name, value, actor=principal.actor)
                )
            except InvalidInput as invalid:
                error = invalid.message
            except SecretsUnavailable as unavailable:
                error, status = unavailable.message, 503
        if error is not None:
            return await _secrets_page(
                request, principal, admin_queries, status, rotating=name, rotate_error=error
            )
        return Redirect("/console/secrets?notice=secret-rotated", status_code=303)

    @get("/{name:str}/delete")
    async def confirm_delete(
        self,
        name: FromPath[str],
        principal: NamedDependency[Principal],
        admin_queries: NamedDependency[AdminQueries],
    ) -> Template:
        principal.require(Role.ADMIN)
        known = {secret.name for secret in await admin_queries.secrets(principal.workspace_id)}
        if name not in known:
            raise NotFound(f"no secret {name!r} in this workspace")
        asked = Confirmation(
            title="Delete secret",
            question=f"Delete the secret {name}?",
            warning="Workflows that read it fail from their next node on that uses it.",
            action=f"/console/secrets/{name}/delete",
            button="Delete secret",
            back="/console/secrets",
            nav="secrets",
        )
        return confirmation_page(principal, asked)

    @post("/{name:str}/delete", status_code=303)
    async def delete_secret(
        self,
        name: FromPath[str],
        principal: NamedDependency[Principal],
        delete_secret: NamedDependency[DeleteSecretHandler],
    ) -> Response[Any]:
        principal.require(Role.ADMIN)
        await delete_secret(DeleteSecret(principal.workspace_id, name, actor=principal.actor))
        return Redirect("/console/secrets?notice=secret-deleted", status_code=303)
