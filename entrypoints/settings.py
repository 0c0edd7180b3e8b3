"""Settings from the environment (pydantic-settings), shared by the API, worker and CLI."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.priority import parse_queues


class OidcProviderSetting(BaseModel):
    """An OpenID Connect provider people sign in with (`TREADLE_OIDC_PROVIDERS`, a JSON
    list of these): its bearer tokens are accepted by the API, and the console offers a
    "Sign in with <title>" button for it."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    """Short and URL-safe: it appears in the console's sign-in paths."""
    title: str = ""
    issuer: str = Field(min_length=8)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    """None for a public client (PKCE alone)."""
    audience: str | None = None
    """The `aud` the API expects in this provider's access tokens; the client id when None."""
    scopes: str = "openid email profile"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TREADLE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "SUPABASE_DB_URL", "TREADLE_DATABASE_URL"),
    )
    session_database_url: str | None = None
    """A direct or session-mode connection to the same database, for the LISTEN connection
    and the worker membership lock when `DATABASE_URL` is a transaction pooler."""
    database_pooler: Literal["auto", "transaction", "session"] = "auto"
    """Whether `DATABASE_URL` is a transaction pooler: `auto` says so for port 6543 or
    `?pgbouncer=true`; `transaction` or `session` (direct, or a session-mode pooler) say it."""
    secret_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SECRET_KEY", "TREADLE_SECRET_KEY")
    )
    worker_concurrency: int = Field(default=10, ge=1, le=1000)
    poll_interval: float = Field(default=1.0, gt=0, le=60)
    lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    heartbeat_seconds: float = Field(default=10.0, gt=0, le=600)
    grace_seconds: float = Field(default=30.0, ge=0, le=3600)
    poison_pill_after: int = Field(default=5, ge=1, le=1000)
    """Failed steps of the same kind in a row after which an execution ends failed."""
    queues: str = ""
    """The queues a worker claims from, comma-separated (`default,ai`); empty: every queue."""
    max_depth: int = Field(default=16, ge=0, le=1000)
    """How deeply sub-workflows may nest: a top-level execution is at depth 0."""
    http_allowed_hosts: str = ""
    http_max_response_bytes: int = Field(default=1_000_000, ge=1)
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    api_workers: int = Field(default=1, ge=1, le=64)
    """API processes sharing the port (one per core is a good start)."""
    api_access_log: bool = True
    """One log line per request; turn off to spare the CPU on a busy API."""
    token_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    """How long an authenticated token is trusted without asking the database again; a
    revocation through another process (or the CLI) takes effect within this; 0 turns
    the cache off."""
    oidc_providers: list[OidcProviderSetting] = Field(default_factory=list)
    supabase_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SUPABASE_URL", "TREADLE_SUPABASE_URL")
    )
    """A Supabase project (`https://<ref>.supabase.co`) whose Auth access tokens the API
    accepts, checked against the project's JWKS."""
    supabase_jwt_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SUPABASE_JWT_SECRET", "TREADLE_SUPABASE_JWT_SECRET"),
    )
    """The project's legacy shared JWT secret, for projects that still sign with HS256."""
    supabase_audience: str = "authenticated"
    supabase_confirms_emails: bool = True
    """Whether the project signs people in only once their email is confirmed (Supabase's
    "Confirm email", on by default): its tokens then count as naming a verified address,
    which joins invitations. Set false for a project that lets people in unconfirmed."""
    session_hours: float = Field(default=12.0, gt=0, le=24 * 90)
    """How long a console sign-in lasts."""
    public_url: str | None = None
    """The address people reach the API and console at (`https://treadle.example.com`),
    for the sign-in redirect; the request's own address when None."""
    pool_size: int = Field(default=10, ge=1, le=200)
    retention_interval_seconds: float = Field(default=300.0, ge=0, le=86_400)
    """How often each worker runs the retention pass (one worker at a time prunes; the
    others skip); 0 turns automatic retention off."""
    log_level: str = "INFO"

    @field_validator("oidc_providers")
    @classmethod
    def _distinct_providers(cls, providers: list[OidcProviderSetting]) -> list[OidcProviderSetting]:
        """Refuse two providers with one name or one issuer: the providers are kept by
        name and by issuer, so the later would silently replace the earlier."""
        for what in ("name", "issuer"):
            repeated = _repeated([getattr(provider, what) for provider in providers])
            if repeated is not None:
                raise ValueError(f"two providers have the {what} {repeated!r}: each needs its own")
        return providers

    @property
    def queue_names(self) -> tuple[str, ...]:
        """The queues a worker claims from; empty: every queue."""
        return parse_queues(self.queues)

    @property
    def allowed_hosts(self) -> list[str]:
        return [host.strip() for host in self.http_allowed_hosts.split(",") if host.strip()]

    def require_database(self) -> str:
        if not self.database_url:
            raise SettingsError(
                "DATABASE_URL is not set: point it at PostgreSQL 14+ "
                "(postgresql://user:password@host:5432/db), or run `make dev`"
            )
        return self.database_url

    def require_secret_key(self) -> str:
        if self.secret_key is None or len(self.secret_key.get_secret_value()) < 16:
            raise SettingsError("SECRET_KEY is missing or shorter than 16 characters")
        return self.secret_key.get_secret_value()


def _repeated(values: list[str]) -> str | None:
    """The first value that appears twice; None when they are all different."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


class SettingsError(Exception):
    """A setting is wrong or missing; the message is one line a person can act on."""


def load_settings() -> Settings:
    """Read the environment, turning validation errors into one clear line."""
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "TREADLE_" + "_".join(str(part) for part in first["loc"]).upper()
        raise SettingsError(f"{name}: {first['msg']}") from None
    try:
        settings.queue_names  # noqa: B018  # checked here, used by the worker
    except ValueError as error:
        raise SettingsError(f"TREADLE_QUEUES: {error}") from None
    if settings.heartbeat_seconds >= settings.lease_seconds:
        raise SettingsError("TREADLE_HEARTBEAT_SECONDS must be shorter than TREADLE_LEASE_SECONDS")
    return settings


def database_host(url: str) -> str:
    """The host and database of a URL, without credentials: safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or "local socket"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"
