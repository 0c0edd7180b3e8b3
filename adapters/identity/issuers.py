"""Which token issuers are trusted, and how each one signs."""

from __future__ import annotations

from dataclasses import dataclass, field

# Public-key algorithms: the key comes from the issuer's JWKS, so nobody who merely holds
# a copy of it can sign. HS256 is never among these: it needs a shared secret.
ASYMMETRIC_ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)

SUPABASE_AUTH_PATH = "/auth/v1"


@dataclass(frozen=True)
class IssuerConfig:
    """A trusted issuer: tokens whose `iss` equals `issuer` are checked with its keys.

    `audience` is the `aud` its tokens must carry unless the caller names another one.
    `jwks_url` is where its public keys are; None means "ask its OpenID discovery
    document". `hs256_secret`, when set, also lets it sign with HS256 (Supabase's legacy
    shared secret); without it an HS256 token is refused, whatever key it claims to use.
    `confirms_emails` says its tokens name only addresses the issuer confirmed, though
    they carry no `email_verified` claim (a Supabase project that requires confirmation).
    """

    issuer: str
    audience: str
    jwks_url: str | None = None
    hs256_secret: str | None = field(default=None, repr=False)
    asymmetric_algorithms: tuple[str, ...] = ASYMMETRIC_ALGORITHMS
    confirms_emails: bool = False


def supabase_issuer(
    url: str, audience: str, secret: str | None = None, confirms_emails: bool = True
) -> IssuerConfig:
    """The issuer of a Supabase project's Auth tokens (`url` is `https://<ref>.supabase.co`).

    Its keys are at a fixed JWKS address, so no discovery is needed; `secret` is the
    project's legacy JWT secret, for projects that still sign with HS256. Its access tokens
    carry no `email_verified`; `confirms_emails` says the project issues them only once
    an address is confirmed (its "Confirm email" setting, on by default)."""
    auth = url.rstrip("/") + SUPABASE_AUTH_PATH
    return IssuerConfig(
        issuer=auth,
        audience=audience,
        jwks_url=f"{auth}/.well-known/jwks.json",
        hs256_secret=secret or None,
        confirms_emails=confirms_emails,
    )
