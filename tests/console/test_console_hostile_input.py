"""Hostile input in the console's forms: YAML aliases, NUL characters, deep nesting, huge
integers and crons that never fire come back beside the form with a 422, never as a 500
or "database unavailable" page, and nothing is saved."""

from __future__ import annotations

import json
import time

from application.document_limits import MAX_NESTING
from tests.api.workflows import ECHO, WAITS_FOR_GO
from tests.console.conftest import Console

NUL = "\u0000"
EDITOR = "/console/workflows/new"


def alias_bomb(levels: int, width: int = 9) -> str:
    """The issue's document: each anchor a list of `width` aliases of the one before."""
    rows = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        aliases = ", ".join(f"*a{level - 1}" for _ in range(width))
        rows.append(f"a{level}: &a{level} [{aliases}]")
    return "nodes: []\nedges: []\n" + "\n".join(rows) + "\n"


def assert_beside_the_form(response: object, *words: str) -> None:
    status, text = response.status_code, response.text  # type: ignore[attr-defined]
    assert status == 422, text
    assert 'role="alert"' in text
    for word in words:
        assert word in text, word


async def saved_names(console: Console) -> str:
    return (await console.client.get("/console/workflows")).text


async def test_a_yaml_alias_bomb_is_refused_at_once(console: Console) -> None:
    await console.sign_in("a_admin")
    started = time.monotonic()
    response = await console.post(EDITOR, name="bomb", definition=alias_bomb(8))
    assert time.monotonic() - started < 5
    assert_beside_the_form(response, "alias", "write the value out")
    assert "bomb" not in await saved_names(console)


async def test_a_single_yaml_alias_is_refused_with_its_line(console: Console) -> None:
    await console.sign_in("a_admin")
    text = "nodes:\n  - &n {id: a, kind: noop}\n  - *n\nedges: []\n"
    response = await console.post(EDITOR, name="alias", definition=text)
    assert_beside_the_form(response, "alias (*n)", "line 3")


async def test_yaml_nested_beyond_the_limit_is_refused(console: Console) -> None:
    await console.sign_in("a_admin")
    levels = 5_000
    text = "nodes: " + "[" * levels + "]" * levels + "\nedges: []\n"
    response = await console.post(EDITOR, name="deep", definition=text)
    assert_beside_the_form(response, f"{MAX_NESTING} levels")


async def test_json_nested_beyond_the_limit_is_refused(console: Console) -> None:
    await console.sign_in("a_admin")
    for levels in (MAX_NESTING + 1, 5_000):
        config = "[" * levels + "]" * levels
        node = '{"id": "a", "kind": "transform", "config": {"output": ' + config + "}}"
        text = '{"nodes": [' + node + "]}"
        response = await console.post(EDITOR, name="deep", definition=text)
        assert_beside_the_form(response, f"{MAX_NESTING} levels")


async def test_nul_in_a_name_or_definition_is_shown_beside_the_editor(console: Console) -> None:
    await console.sign_in("a_admin")
    text = json.dumps({**ECHO, "edges": [{"from": "double", "to": f"done{NUL}"}]})
    response = await console.post(EDITOR, name="nul", definition=text)
    assert_beside_the_form(response, "edges[0].to", "NUL")
    response = await console.post(EDITOR, name=f"nul{NUL}", definition=json.dumps(ECHO))
    assert_beside_the_form(response, "NUL")
    assert "nul" not in await saved_names(console)


async def test_bad_run_input_is_shown_beside_the_run_form(console: Console) -> None:
    await console.sign_in("a_admin")
    workflow_id = await console.workflow(ECHO)
    run = f"/console/workflows/{workflow_id}/run"
    for given, words in (
        (json.dumps({"x": NUL}), ("at x", "NUL")),
        (json.dumps({"x": 2**64}), ("64-bit",)),
        ("[" * 3_000 + "]" * 3_000, (f"{MAX_NESTING} levels",)),
    ):
        assert_beside_the_form(await console.post(run, input=given), *words)


async def test_a_cron_that_never_fires_is_shown_beside_the_schedule_form(
    console: Console,
) -> None:
    await console.sign_in("a_admin")
    workflow_id = await console.workflow(ECHO)
    schedules = f"/console/workflows/{workflow_id}/schedules"
    for cron, words in (
        ("0 0 30 2 *", ("never fires",)),
        ("* * * * * * 2030", ("five fields",)),
        (f"0 9 * * *{NUL}", ("NUL",)),
    ):
        response = await console.post(schedules, cron=cron, timezone="UTC", input="")
        assert_beside_the_form(response, *words)


async def test_a_bad_signal_is_shown_beside_the_signal_form(console: Console) -> None:
    await console.sign_in("a_admin")
    workflow_id = await console.workflow(WAITS_FOR_GO)
    started = await console.post(f"/console/workflows/{workflow_id}/run", input="{}")
    assert started.status_code == 303, started.text
    execution_id = str(started.headers["location"]).split("?")[0].rsplit("/", 1)[1]
    signal = f"/console/executions/{execution_id}/signal"
    for fields, words in (
        ({"name": "go", "payload": json.dumps({"x": NUL})}, ("NUL", 'id="signal-error"')),
        ({"name": "go", "payload": "[" * 3_000 + "]" * 3_000}, (f"{MAX_NESTING} levels",)),
        ({"name": "", "payload": ""}, ("Give the signal a name",)),
        ({"name": f"go{NUL}", "payload": ""}, ("NUL",)),
    ):
        assert_beside_the_form(await console.post(signal, **fields), *words)
    sent = await console.post(signal, name="go", payload='{"ok": true}')
    assert sent.status_code == 303, sent.text
