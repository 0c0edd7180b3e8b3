"""Who a person is, as an identity provider vouches for it in a signed token (a JWT).

The API accepts, besides Treadle's own API tokens, access tokens that a configured
OpenID Connect issuer (or a Supabase project) signed; the console's sign-in receives an ID
token at the end of the authorization-code flow. Both are checked by an
`IdentityVerifier`, which turns a token into an `Identity` or refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Identity:
    """A person as their identity provider names them: `(issuer, subject)` is stable and
    unique; the email and name may change from one sign-in to the next."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str = ""

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.subject


class IdentityVerifier(Protocol):
    """Checks tokens signed by the configured issuers."""

    def recognises(self, token: str) -> bool:
        """Whether `token` looks like a JWT this verifier could check (three base64url
        parts): a cheap test made before any signature work."""
        ...

    async def verify(
        self, token: str, *, audience: str | None = None, nonce: str | None = None
    ) -> Identity:
        """The identity a valid token carries.

        The token must name a configured issuer (`iss`), be signed with one of the
        algorithms and keys configured for it, be meant for its audience (`aud`, or
        `audience` when given), be within `nbf`/`exp` give or take a small leeway, and
        carry `nonce` when one is given. Raises `Unauthenticated` otherwise, with a
        message that never repeats the token."""
        ...
