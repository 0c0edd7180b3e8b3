"""`TREADLE_OIDC_PROVIDERS`: each provider has its own name and its own issuer, else the
settings are refused in one line (rather than the later provider silently replacing the
earlier)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from entrypoints.settings import SettingsError, load_settings


def provider(name: str, issuer: str) -> dict[str, Any]:
    return {"name": name, "issuer": issuer, "client_id": f"{name}-client"}


def configure(monkeypatch: pytest.MonkeyPatch, *providers: dict[str, Any]) -> None:
    monkeypatch.setenv("TREADLE_OIDC_PROVIDERS", json.dumps(list(providers)))


def test_distinct_providers_are_all_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(
        monkeypatch,
        provider("corp", "https://id.corp.example"),
        provider("google", "https://accounts.google.com"),
    )

    names = [setting.name for setting in load_settings().oidc_providers]

    assert names == ["corp", "google"]


def test_two_providers_with_one_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(
        monkeypatch,
        provider("corp", "https://id.corp.example"),
        provider("corp", "https://accounts.google.com"),
    )

    with pytest.raises(SettingsError) as refused:
        load_settings()

    message = str(refused.value)
    assert message.startswith("TREADLE_OIDC_PROVIDERS: ")
    assert "two providers have the name 'corp'" in message
    assert "\n" not in message


def test_two_providers_with_one_issuer_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(
        monkeypatch,
        provider("corp", "https://id.corp.example"),
        provider("corp-staff", "https://id.corp.example"),
    )

    with pytest.raises(SettingsError) as refused:
        load_settings()

    message = str(refused.value)
    assert message.startswith("TREADLE_OIDC_PROVIDERS: ")
    assert "two providers have the issuer 'https://id.corp.example'" in message
