"""Composition of sign-in: the token verifier and the OpenID Connect providers the
settings name."""

from __future__ import annotations

import httpx

from adapters.identity.issuers import IssuerConfig, supabase_issuer
from adapters.identity.jwt_verifier import JwtVerifier
from adapters.identity.oidc_client import OidcProvider
from application.ports.clock import Clock
from entrypoints.settings import Settings


def issuer_configs(settings: Settings) -> list[IssuerConfig]:
    """One trusted issuer per OpenID Connect provider (its access tokens are meant for
    `audience`, else its client id), and the Supabase project's when there is one.

    A Supabase project that is also a sign-in provider (Supabase Auth's OpenID Connect
    server) is one issuer: the project's settings say how its access tokens are checked
    (audience `authenticated`, its key set, its legacy secret), and the console's sign-in
    checks the ID token against the provider's client id all the same."""
    configs = {
        provider.issuer: IssuerConfig(
            issuer=provider.issuer, audience=provider.audience or provider.client_id
        )
        for provider in settings.oidc_providers
    }
    if settings.supabase_url:
        secret = settings.supabase_jwt_secret
        project = supabase_issuer(
            settings.supabase_url,
            settings.supabase_audience,
            secret.get_secret_value() if secret else None,
            confirms_emails=settings.supabase_confirms_emails,
        )
        configs[project.issuer] = project
    return list(configs.values())


def identity_verifier(
    settings: Settings, http: httpx.AsyncClient | None = None, clock: Clock | None = None
) -> JwtVerifier | None:
    """The verifier for the configured issuers; None when sign-in is not configured."""
    configs = issuer_configs(settings)
    if not configs:
        return None
    return JwtVerifier(configs, http=http, clock=clock)


def oidc_providers(settings: Settings, verifier: JwtVerifier) -> dict[str, OidcProvider]:
    """The providers people sign in with, by name; they share the verifier's HTTP client
    and discovery cache."""
    return {
        provider.name: OidcProvider(
            name=provider.name,
            title=provider.title,
            issuer=provider.issuer,
            client_id=provider.client_id,
            client_secret=(
                provider.client_secret.get_secret_value() if provider.client_secret else None
            ),
            scopes=provider.scopes,
            verifier=verifier,
        )
        for provider in settings.oidc_providers
    }
