"""`TREADLE_MAX_DEPTH` reaches the engine through the composition root (the contract tests
run the limit end to end on both adapters)."""

from __future__ import annotations

import pytest

from application.engine.decision import DEFAULT_MAX_DEPTH
from entrypoints.bootstrap import bootstrap
from entrypoints.settings import Settings


def test_the_setting_defaults_to_sixteen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TREADLE_MAX_DEPTH", raising=False)
    assert Settings().max_depth == DEFAULT_MAX_DEPTH == 16
    monkeypatch.setenv("TREADLE_MAX_DEPTH", "3")
    assert Settings().max_depth == 3


async def test_bootstrap_hands_the_limit_to_the_runner() -> None:
    runtime = await bootstrap(Settings(database_url=None, max_depth=3))
    try:
        assert runtime.engine.max_depth() == 3
        committer = runtime.engine.runner()._committer
        assert committer._max_depth == 3
    finally:
        await runtime.close()
