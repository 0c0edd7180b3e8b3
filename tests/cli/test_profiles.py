"""`treadle --profile NAME`: the server's URL and token from the CLI's config file, against
a real API served on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.cli.conftest import Cli
from tests.client.conftest import Served


def profiled_cli(config: Path) -> Cli:
    cli = Cli(None)
    cli.env.update(TREADLE_CONFIG=str(config))
    return cli


def write_config(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


async def test_a_profile_names_the_server_and_its_token(served: Served, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        f'[profiles.local]\nurl = "{served.url}"\ntoken = "{served.token()}"\n',
    )

    listed = await asyncio.to_thread(
        profiled_cli(config).invoke, "--profile", "local", "tokens", "list"
    )

    assert listed.exit_code == 0, listed.output
    assert "admin" in listed.stdout
    assert "warning" not in listed.stderr


async def test_the_command_line_token_wins_over_the_profiles(
    served: Served, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "config.toml", f'[profiles.local]\nurl = "{served.url}"\ntoken = "trd_stale"\n'
    )
    cli = profiled_cli(config)

    stale = await asyncio.to_thread(cli.invoke, "--profile", "local", "tokens", "list")
    fresh = await asyncio.to_thread(
        cli.invoke, "--profile", "local", "--token", served.token(), "tokens", "list"
    )

    assert stale.exit_code == 1 and "(unauthenticated)" in stale.output
    assert fresh.exit_code == 0, fresh.output


def test_an_unknown_profile_says_which_ones_exist(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        '[profiles.staging]\nurl = "https://a.example"\n[profiles.prod]\nurl = "https://b.example"\n',
    )

    result = profiled_cli(config).invoke("--profile", "dev", "workflows", "list")

    assert result.exit_code == 2
    assert "has no [profiles.dev] (it has: prod, staging)" in result.stderr


def test_a_missing_or_broken_config_file_is_named(tmp_path: Path) -> None:
    missing = profiled_cli(tmp_path / "absent.toml").invoke("--profile", "x", "workflows", "list")
    broken = write_config(tmp_path / "broken.toml", "[profiles.x\nurl = 1")
    unreadable = profiled_cli(broken).invoke("--profile", "x", "workflows", "list")

    assert missing.exit_code == 2 and "there is no config file at" in missing.stderr
    assert unreadable.exit_code == 2 and "cannot be read as TOML" in unreadable.stderr


async def test_a_config_file_others_can_read_is_warned_about(
    served: Served, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "config.toml",
        f'[profiles.local]\nurl = "{served.url}"\ntoken = "{served.token()}"\n',
        mode=0o644,
    )

    listed = await asyncio.to_thread(
        profiled_cli(config).invoke, "--profile", "local", "tokens", "list"
    )

    assert listed.exit_code == 0, listed.output
    assert "other users can read it; chmod 600 it" in listed.stderr
