"""What `treadle members` and `treadle whoami` print, the same from the database and over
the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MemberRow:
    """A person in the workspace and their role."""

    user_id: str
    email: str | None
    display_name: str
    role: str
    joined_at: datetime
    added_by: str


@dataclass(frozen=True)
class InvitationRow:
    """A membership waiting for its email's first sign-in."""

    id: str
    email: str
    role: str
    invited_by: str
    created_at: datetime


@dataclass(frozen=True)
class WhoAmI:
    """Who the API token (or person) in use is: what `treadle whoami` prints."""

    kind: str
    name: str
    """The token's name, or the person's display name and email."""
    id: str
    workspace: str
    role: str
    others: list[tuple[str, str]]
    """A person's other workspaces and their role in each."""
