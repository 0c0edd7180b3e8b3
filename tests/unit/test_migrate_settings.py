"""`treadle migrate` tells the migrations whether their URL is a transaction pooler as the
setting says, not only as the URL marks it."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.config import Config

from adapters.postgres import migrate


@pytest.mark.parametrize(
    ("url", "declared", "pooler"),
    [
        ("postgresql://u@db.example:5432/x", "transaction", True),
        ("postgresql://u@db.example:6543/x", "session", False),
        ("postgresql://u@db.example:6543/x", "auto", True),
        ("postgresql://u@db.example:5432/x", "auto", False),
    ],
)
def test_the_declared_pooler_mode_reaches_the_migrations(
    monkeypatch: pytest.MonkeyPatch, url: str, declared: str, pooler: bool
) -> None:
    seen: dict[str, Any] = {}

    def upgrade(config: Config, revision: str) -> None:
        seen.update(config.attributes, revision=revision)

    monkeypatch.setattr(command, "upgrade", upgrade)
    migrate.upgrade(url, pooler=declared)
    assert seen == {"transaction_pooler": pooler, "revision": "head"}
