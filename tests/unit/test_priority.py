"""Priorities and queues in documents and settings: `settings.priority` and
`settings.queue`, queue lists (`--queues`, `TREADLE_QUEUES`)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidDefinition
from domain.priority import DEFAULT_PRIORITY, DEFAULT_QUEUE, parse_queues, queue_name_problem
from domain.validation import definition_to_document, parse_definition
from entrypoints.settings import SettingsError, load_settings

ONE = {"nodes": [{"id": "a", "kind": "noop"}], "edges": []}


def with_settings(**settings: Any) -> dict[str, Any]:
    return {**ONE, "settings": settings}


def test_settings_default_to_priority_five_on_the_default_queue() -> None:
    settings = parse_definition(ONE).settings
    assert (
        (settings.priority, settings.queue) == (DEFAULT_PRIORITY, DEFAULT_QUEUE) == (5, "default")
    )


@pytest.mark.parametrize("priority", [0, 9, 7])
@pytest.mark.parametrize("queue", ["ai", "private-net.eu_1", "default"])
def test_a_priority_and_a_queue_survive_a_round_trip(priority: int, queue: str) -> None:
    definition = parse_definition(with_settings(priority=priority, queue=queue))
    assert (definition.settings.priority, definition.settings.queue) == (priority, queue)
    assert parse_definition(definition_to_document(definition)) == definition


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"priority": 10}, "invalid_priority"),
        ({"priority": -1}, "invalid_priority"),
        ({"priority": 2.5}, "invalid_priority"),
        ({"priority": "9"}, "invalid_priority"),
        ({"queue": ""}, "invalid_queue"),
        ({"queue": "a b"}, "invalid_queue"),
        ({"queue": "x" * 101}, "invalid_queue"),
        ({"queue": 3}, "invalid_queue"),
    ],
)
def test_bad_priorities_and_queues_are_named(settings: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidDefinition) as raised:
        parse_definition(with_settings(**settings))
    [problem] = raised.value.problems
    assert problem.code == code
    assert problem.path == f"settings.{next(iter(settings))}"


def test_queue_lists_keep_their_order_without_repeats() -> None:
    assert parse_queues("ai, default,ai,,") == ("ai", "default")
    assert parse_queues("") == ()
    with pytest.raises(ValueError, match="'no way'"):
        parse_queues("ai,no way")
    assert queue_name_problem("a.b-c_1") is None


def test_treadle_queues_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREADLE_QUEUES", "ai,default")
    assert load_settings().queue_names == ("ai", "default")
    monkeypatch.setenv("TREADLE_QUEUES", "ai;default")
    with pytest.raises(SettingsError, match="TREADLE_QUEUES"):
        load_settings()
    monkeypatch.delenv("TREADLE_QUEUES")
    assert load_settings().queue_names == ()
