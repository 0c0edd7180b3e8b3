"""The API's own services (tokens, secrets, schedules, workspaces, queries) as a container.

They need only a clock, a unit of work factory and an encryptor, so they sit beside the
`Engine` container rather than inside it; `entrypoints.bootstrap` builds both for every
runtime, so the CLI bootstraps the first token through the same services. Tests override
its providers instead of patching.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from application.queries.admin import AdminQueries
from application.queries.audit import AuditQueries
from application.queries.executions import ExecutionQueries
from application.queries.people import PeopleQueries
from application.queries.triggers import TriggerQueries
from application.queries.workflows import WorkflowQueries
from application.triggers.rate_limits import TokenBuckets
from application.triggers.waiting import ExecutionWaits
from application.use_cases.archive_workflow import ArchiveWorkflowHandler
from application.use_cases.people import (
    CancelInvitationHandler,
    ChangeMembershipHandler,
    InviteHandler,
    PersonalTokens,
    PrincipalForUserHandler,
    SignInHandler,
)
from application.use_cases.receive_hook import ReceiveHookHandler
from application.use_cases.schedules import (
    CreateScheduleHandler,
    DeleteScheduleHandler,
    UpdateScheduleHandler,
)
from application.use_cases.secrets import (
    CreateSecretHandler,
    DeleteSecretHandler,
    NoEncryptor,
    RotateSecretHandler,
)
from application.use_cases.sessions import ConsoleSessions
from application.use_cases.tokens import (
    AuthenticatedTokens,
    AuthenticateHandler,
    CreateTokenHandler,
    RevokeTokenHandler,
)
from application.use_cases.triggers import (
    CreateTriggerHandler,
    DeleteTriggerHandler,
    UpdateTriggerHandler,
)
from application.use_cases.workspaces import EnsureWorkspaceHandler


class ApiServices(containers.DeclarativeContainer):
    """Tokens, secrets, schedules, workspaces and the read side, over one storage."""

    clock: providers.Dependency[Any] = providers.Dependency()
    uow_factory: providers.Dependency[Any] = providers.Dependency()
    encryptor: providers.Dependency[Any] = providers.Dependency(
        default=providers.Singleton(NoEncryptor)
    )
    token_cache_ttl: providers.Dependency[timedelta] = providers.Dependency(
        default=providers.Object(timedelta(seconds=5))
    )
    start_run: providers.Dependency[Any] = providers.Dependency(default=providers.Object(None))
    """The engine's StartRun handler, which webhook triggers start runs through."""
    notifications: providers.Dependency[Any] = providers.Dependency(default=providers.Object(None))
    """Committed notifications, which a hook waiting for a node's output listens to."""
    identity_verifier: providers.Dependency[Any] = providers.Dependency(
        default=providers.Object(None)
    )
    """Checks people's JWTs (`entrypoints.identity`); None when no issuer is configured."""
    oidc_providers: providers.Dependency[Any] = providers.Dependency(default=providers.Object({}))
    """The OpenID Connect providers the console offers sign-in with, by name."""
    session_lifetime: providers.Dependency[timedelta] = providers.Dependency(
        default=providers.Object(timedelta(hours=12))
    )
    # Shared by authentication, revocation and membership changes, so a token revoked or a
    # member removed here is refused at once.
    token_cache = providers.Singleton(AuthenticatedTokens, clock, token_cache_ttl)

    sign_in = providers.Singleton(SignInHandler, uow_factory, clock)
    principal_for_user = providers.Singleton(PrincipalForUserHandler, uow_factory)
    personal_tokens = providers.Singleton(
        lambda verifier, sign_in, principal_for: (
            None if verifier is None else PersonalTokens(verifier, sign_in, principal_for)
        ),
        identity_verifier,
        sign_in,
        principal_for_user,
    )
    console_sessions = providers.Singleton(ConsoleSessions, uow_factory, clock, session_lifetime)
    people_queries = providers.Singleton(PeopleQueries, uow_factory)
    invite = providers.Singleton(InviteHandler, uow_factory, clock)
    cancel_invitation = providers.Singleton(CancelInvitationHandler, uow_factory, clock)
    change_membership = providers.Singleton(
        ChangeMembershipHandler, uow_factory, clock, token_cache
    )

    workflow_queries = providers.Singleton(WorkflowQueries, uow_factory)
    execution_queries = providers.Singleton(ExecutionQueries, uow_factory)
    admin_queries = providers.Singleton(AdminQueries, uow_factory)
    audit_queries = providers.Singleton(AuditQueries, uow_factory)

    archive_workflow = providers.Singleton(ArchiveWorkflowHandler, uow_factory, clock)
    create_schedule = providers.Singleton(CreateScheduleHandler, uow_factory, clock)
    update_schedule = providers.Singleton(UpdateScheduleHandler, uow_factory, clock)
    delete_schedule = providers.Singleton(DeleteScheduleHandler, uow_factory, clock)
    create_secret = providers.Singleton(CreateSecretHandler, uow_factory, clock, encryptor)
    rotate_secret = providers.Singleton(RotateSecretHandler, uow_factory, clock, encryptor)
    delete_secret = providers.Singleton(DeleteSecretHandler, uow_factory, clock)
    create_token = providers.Singleton(CreateTokenHandler, uow_factory, clock)
    revoke_token = providers.Singleton(RevokeTokenHandler, uow_factory, clock, token_cache)
    authenticate = providers.Singleton(
        AuthenticateHandler, uow_factory, token_cache, personal_tokens
    )
    ensure_workspace = providers.Singleton(EnsureWorkspaceHandler, uow_factory, clock)

    trigger_queries = providers.Singleton(TriggerQueries, uow_factory)
    create_trigger = providers.Singleton(CreateTriggerHandler, uow_factory, clock, encryptor)
    update_trigger = providers.Singleton(UpdateTriggerHandler, uow_factory, clock, encryptor)
    delete_trigger = providers.Singleton(DeleteTriggerHandler, uow_factory, clock)
    # One set of buckets per process: a trigger's rate is counted per API process.
    hook_buckets = providers.Singleton(TokenBuckets)
    execution_waits = providers.Singleton(ExecutionWaits, uow_factory, notifications)
    receive_hook = providers.Singleton(
        ReceiveHookHandler, uow_factory, clock, encryptor, start_run, hook_buckets, execution_waits
    )
