"""People in tests: a verifier that vouches for whoever a test names, and members made the
way real ones are (an invitation, then a verified sign-in)."""

from __future__ import annotations

from dependency_injector import providers

from application.errors import Unauthenticated
from application.people import User
from application.ports.identity import Identity
from application.use_cases.people import Invite
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.api.services import ApiServices

ISSUER = "https://id.example.test"
PERSON_PREFIX = "person:"
"""What a test person's bearer token starts with: `person:<subject>`."""


class PeopleVerifier:
    """An `IdentityVerifier` for `person:<subject>` tokens of the people it was told of;
    any other token of that shape is refused, as an expired JWT would be."""

    def __init__(self) -> None:
        self.people: dict[str, Identity] = {}

    def recognises(self, token: str) -> bool:
        return token.startswith(PERSON_PREFIX)

    async def verify(
        self, token: str, *, audience: str | None = None, nonce: str | None = None
    ) -> Identity:
        found = self.people.get(token.removeprefix(PERSON_PREFIX))
        if found is None:
            raise Unauthenticated("the person's token is not valid")
        return found

    async def aclose(self) -> None:
        """Nothing to close (the runtime closes its verifier)."""


def accept_people(services: ApiServices) -> PeopleVerifier:
    """Make the services accept test people's tokens (before or after the first request:
    the providers that hold the verifier are made again)."""
    verifier = PeopleVerifier()
    services.identity_verifier.override(providers.Object(verifier))
    services.personal_tokens.reset()
    services.authenticate.reset()
    return verifier


def identity(email: str, name: str | None = None) -> Identity:
    """A person whose subject is their email's local part, with a verified email."""
    subject = email.split("@")[0]
    return Identity(ISSUER, subject, email, email_verified=True, name=name or subject.title())


def bearer(email: str, workspace: str | None = None) -> dict[str, str]:
    """Headers of a request a person (known to a `PeopleVerifier`) makes."""
    headers = {"Authorization": f"Bearer {PERSON_PREFIX}{email.split('@')[0]}"}
    if workspace:
        headers["X-Treadle-Workspace"] = workspace
    return headers


async def workspace_id(services: ApiServices, name: str) -> str:
    return (await services.ensure_workspace()(EnsureWorkspace(name))).id


async def join(
    services: ApiServices,
    workspace: str,
    email: str,
    role: str,
    verifier: PeopleVerifier | None = None,
) -> User:
    """A member of the workspace named `workspace`: invited, then signed in. The verifier,
    when given, vouches for them from now on (see `bearer`)."""
    space = await workspace_id(services, workspace)
    await services.invite()(Invite(space, email, role))
    person = identity(email)
    if verifier is not None:
        verifier.people[person.subject] = person
    return await services.sign_in()(person)
