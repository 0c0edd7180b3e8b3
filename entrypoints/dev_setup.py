"""The state `treadle dev` keeps under `.treadle/` and the first-start set-up it does.

`.treadle/secret-key` holds the SECRET_KEY that encrypts secrets at rest and
`.treadle/admin-token` the admin token of workspace `default`; both are created on the
first start, readable by their owner only, and reused on every later start.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import httpx

from application.errors import Unauthenticated
from application.use_cases.tokens import CreateToken
from application.use_cases.workspaces import EnsureWorkspace
from entrypoints.bootstrap import bootstrap
from entrypoints.runtime import Runtime
from entrypoints.settings import Settings

DEV_WORKSPACE = "default"
DEV_TOKEN_NAME = "treadle dev admin"


class DevFiles:
    """Paths of the files `treadle dev` keeps in its data folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.secret_key = root / "secret-key"
        self.admin_token = root / "admin-token"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (created with mode 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    path.chmod(0o600)


def read_stripped(path: Path) -> str | None:
    if not path.exists():
        return None
    return path.read_text(encoding="utf-8").strip() or None


def load_or_create_secret_key(files: DevFiles) -> str:
    key = read_stripped(files.secret_key)
    if key is None:
        key = secrets.token_urlsafe(48)
        write_private(files.secret_key, key)
    return key


def bootstrap_admin_token(database_url: str, secret_key: str, files: DevFiles) -> str:
    """The stored admin token if the database still accepts it, else a new one (stored)."""
    settings = Settings.model_validate({"DATABASE_URL": database_url, "SECRET_KEY": secret_key})
    return asyncio.run(_bootstrap(settings, files))


async def _bootstrap(settings: Settings, files: DevFiles) -> str:
    runtime = await bootstrap(settings)
    try:
        workspace = await runtime.services.ensure_workspace()(EnsureWorkspace(DEV_WORKSPACE))
        stored = read_stripped(files.admin_token)
        if stored is not None and await _still_valid(runtime, stored):
            return stored
        create = runtime.services.create_token()
        created = await create(CreateToken(workspace.id, DEV_TOKEN_NAME, "admin"))
        write_private(files.admin_token, created.secret)
        return created.secret
    finally:
        await runtime.close()


async def _still_valid(runtime: Runtime, token: str) -> bool:
    try:
        await runtime.services.authenticate()(token)
    except Unauthenticated:
        return False
    return True


def answers_health_check(client: httpx.Client, base_url: str) -> bool:
    """Whether the API at `base_url` answers `GET /healthz` with 200 right now."""
    try:
        return client.get(f"{base_url}/healthz").status_code == 200
    except httpx.TransportError:
        return False  # not listening yet
