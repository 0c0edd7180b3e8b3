"""Who is calling: the principal a bearer token (or a person) stands for, and what its
role allows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from application.audit import Actor
from application.errors import PermissionDenied


class Role(StrEnum):
    """Roles from least to most powerful; each may do everything the ones before it may."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: every read and write it makes is scoped to `workspace_id`.

    A caller is an API token (`token_id`), or a person signed in through an identity
    provider (`user_id`, with their role from their membership of the workspace)."""

    workspace_id: str
    role: Role
    token_id: str = ""
    token_name: str = ""
    user_id: str | None = None
    user_name: str = ""

    @property
    def actor(self) -> Actor:
        """Who this caller is in the audit log: the person, or the token by id and name."""
        if self.user_id is not None:
            return Actor.user(self.user_id, self.user_name)
        return Actor.token(self.token_id, self.token_name)

    @property
    def is_person(self) -> bool:
        return self.user_id is not None

    def allows(self, needed: Role) -> bool:
        return self.role.rank >= needed.rank

    def require(self, needed: Role) -> None:
        if not self.allows(needed):
            caller = "your role in this workspace is" if self.is_person else "the token has"
            raise PermissionDenied(
                f"this needs the {needed.value} role; {caller} {self.role.value}"
            )
