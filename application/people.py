"""People: users, their memberships of workspaces, invitations, console sessions.

A user is a person an identity provider vouched for, found again by `(issuer, subject)`.
A membership gives a user a role in one workspace; an invitation is a membership waiting
for its email's first sign-in. A workspace always keeps at least one admin. A console
session is what the console's cookie names (by a random id whose hash is stored): it
stands for a user in a workspace, or, for the single-user `treadle dev`, for an API token
pasted on the sign-in page.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from application.access import Role
from application.errors import Conflict, PermissionDenied
from application.ids import secret_digest


@dataclass(frozen=True)
class User:
    """A person; `(issuer, subject)` is how their identity provider names them."""

    id: str
    issuer: str
    subject: str
    email: str | None
    display_name: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Membership:
    """A user's role in a workspace. `added_by` names who invited them (an actor name)."""

    workspace_id: str
    user_id: str
    role: str
    created_at: datetime
    added_by: str = ""


@dataclass(frozen=True)
class Member:
    """A membership with the person it belongs to, as the members page lists them."""

    membership: Membership
    user: User


@dataclass(frozen=True)
class Invitation:
    """A membership waiting for `email` to sign in with a verified address."""

    id: str
    workspace_id: str
    email: str
    role: str
    invited_by: str
    created_at: datetime


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in console: a user's (or a pasted token's) in one workspace until
    `expires_at`. Only a hash of the cookie's value is stored."""

    id_hash: str
    workspace_id: str
    created_at: datetime
    expires_at: datetime
    user_id: str | None = None
    token_id: str | None = None


class NotAMember(PermissionDenied):
    """You are not a member of this workspace: ask one of its admins to invite you."""

    code = "not_a_member"


class LastAdmin(Conflict):
    """A workspace must keep at least one admin."""

    code = "last_admin"


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively here, as every identity provider treats them."""
    return email.strip().lower()


def new_session_secret() -> str:
    """The console cookie's value: long and random, shown to nobody but the browser."""
    return secrets.token_urlsafe(32)


def hash_session(secret: str) -> str:
    return secret_digest(secret)


def check_keeps_an_admin(
    members: Iterable[Membership], user_id: str, new_role: Role | None
) -> None:
    """Refuse a change that would leave the workspace without an admin: `user_id` taking
    `new_role` (None: removed)."""
    admins = {m.user_id for m in members if m.role == Role.ADMIN.value}
    if user_id in admins and new_role is not Role.ADMIN and len(admins) == 1:
        raise LastAdmin("this is the workspace's last admin: make another member an admin first")
