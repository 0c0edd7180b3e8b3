"""Named servers for the CLI: `treadle --profile staging ...` reads the URL and token of
`[profiles.staging]` from the config file, so neither is typed or kept in the shell's
environment.

The file is `$TREADLE_CONFIG`, else `$XDG_CONFIG_HOME/treadle/config.toml`, else
`~/.config/treadle/config.toml`::

    [profiles.staging]
    url = "https://treadle.staging.example.com"
    token = "trd_..."

`--url` and `--token` (or `TREADLE_URL` and `TREADLE_TOKEN`) win over the profile's.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ProfileError(Exception):
    """The profile asked for cannot be read; the message says what to fix."""


@dataclass(frozen=True)
class Profile:
    url: str
    token: str | None
    loose_permissions: bool = False
    """The file can be read by other users of the machine: it holds a token."""


def config_path() -> Path:
    """Where the CLI's config file is."""
    explicit = os.environ.get("TREADLE_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "treadle" / "config.toml"


def read_profile(name: str, path: Path | None = None) -> Profile:
    """The profile `name` of the config file."""
    path = path or config_path()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"--profile {name}: there is no config file at {path}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ProfileError(f"{path}: cannot be read as TOML: {error}") from None
    profiles = document.get("profiles")
    found = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(found, dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else "none"
        raise ProfileError(f"--profile {name}: {path} has no [profiles.{name}] (it has: {known})")
    return Profile(_url(name, found, path), _token(name, found, path), _loose(path))


def _url(name: str, found: dict[str, Any], path: Path) -> str:
    url = found.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ProfileError(f'{path}: [profiles.{name}] needs url = "https://..."')
    return url


def _token(name: str, found: dict[str, Any], path: Path) -> str | None:
    token = found.get("token")
    if token is not None and not isinstance(token, str):
        raise ProfileError(f"{path}: [profiles.{name}] token must be a string")
    return token


def _loose(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False
