"""Admin-only resources (secrets and tokens) and the caller's own workspace."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.access import Principal
from application.queries.admin import AdminQueries
from application.use_cases.secrets import (
    CreateSecretHandler,
    DeleteSecret,
    DeleteSecretHandler,
    PutSecret,
    RotateSecretHandler,
)
from application.use_cases.tokens import (
    CreateToken,
    CreateTokenHandler,
    RevokeToken,
    RevokeTokenHandler,
)
from entrypoints.api.auth import ADMIN
from entrypoints.api.schemas.admin import (
    SecretCreate,
    SecretOut,
    SecretRotate,
    TokenCreate,
    TokenCreated,
    TokenOut,
    WorkspaceOut,
)


class SecretController(Controller):
    """Values go in and never come out: responses carry names and dates only."""

    path = "/secrets"
    tags = ["secrets"]
    guards = [ADMIN]

    @post("/")
    async def create_secret(
        self,
        data: JSONBody[SecretCreate],
        principal: NamedDependency[Principal],
        create_secret: NamedDependency[CreateSecretHandler],
    ) -> SecretOut:
        info = await create_secret(
            PutSecret(principal.workspace_id, data.name, data.value, actor=principal.actor)
        )
        return SecretOut.of(info)

    @get("/")
    async def list_secrets(
        self, principal: NamedDependency[Principal], admin_queries: NamedDependency[AdminQueries]
    ) -> list[SecretOut]:
        return [SecretOut.of(s) for s in await admin_queries.secrets(principal.workspace_id)]

    @put("/{name:str}")
    async def rotate_secret(
        self,
        name: FromPath[str],
        data: JSONBody[SecretRotate],
        principal: NamedDependency[Principal],
        rotate_secret: NamedDependency[RotateSecretHandler],
    ) -> SecretOut:
        """Replace the value; executions read the new one from their next node on."""
        info = await rotate_secret(
            PutSecret(principal.workspace_id, name, data.value, actor=principal.actor)
        )
        return SecretOut.of(info)

    @delete("/{name:str}")
    async def delete_secret(
        self,
        name: FromPath[str],
        principal: NamedDependency[Principal],
        delete_secret: NamedDependency[DeleteSecretHandler],
    ) -> None:
        await delete_secret(DeleteSecret(principal.workspace_id, name, actor=principal.actor))


class TokenController(Controller):
    path = "/tokens"
    tags = ["tokens"]
    guards = [ADMIN]

    @post("/")
    async def create_token(
        self,
        data: JSONBody[TokenCreate],
        principal: NamedDependency[Principal],
        create_token: NamedDependency[CreateTokenHandler],
    ) -> TokenCreated:
        """The `token` field is shown this once: only its hash is stored."""
        created = await create_token(
            CreateToken(
                principal.workspace_id,
                data.name,
                data.role,
                actor=principal.actor,
                created_by=principal.user_id,
            )
        )
        out = TokenOut.of(created.record)
        return TokenCreated(
            id=out.id,
            name=out.name,
            role=out.role,
            created_at=out.created_at,
            revoked_at=out.revoked_at,
            created_by=out.created_by,
            token=created.secret,
        )

    @get("/")
    async def list_tokens(
        self, principal: NamedDependency[Principal], admin_queries: NamedDependency[AdminQueries]
    ) -> list[TokenOut]:
        return [TokenOut.of(t) for t in await admin_queries.tokens(principal.workspace_id)]

    @delete("/{token_id:str}")
    async def revoke_token(
        self,
        token_id: FromPath[str],
        principal: NamedDependency[Principal],
        revoke_token: NamedDependency[RevokeTokenHandler],
    ) -> None:
        """Revoked tokens stay listed (with `revoked_at`) and authenticate no more."""
        await revoke_token(RevokeToken(principal.workspace_id, token_id, actor=principal.actor))


class WorkspaceController(Controller):
    path = "/workspace"
    tags = ["workspace"]

    @get("/")
    async def current_workspace(
        self, principal: NamedDependency[Principal], admin_queries: NamedDependency[AdminQueries]
    ) -> WorkspaceOut:
        """The workspace the token belongs to, and the token's role."""
        workspace = await admin_queries.workspace(principal.workspace_id)
        return WorkspaceOut(id=workspace.id, name=workspace.name, role=principal.role.value)
