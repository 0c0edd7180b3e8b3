"""The recursion check at save (application/recursion_check.py) through the create and
update use cases: `settings.allow_recursion`, pinned versions, archived workflows, and the
bound on the walk (the API tests cover the plain cycles over HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.clock import SystemClock
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from application import recursion_check
from application.records import WorkflowVersion
from application.recursion_check import Saving
from application.save_checks import check_definition
from application.use_cases.archive_workflow import ArchiveWorkflow, ArchiveWorkflowHandler
from application.use_cases.create_workflow import CreateWorkflow, CreateWorkflowHandler
from application.use_cases.update_workflow import UpdateWorkflow, UpdateWorkflowHandler
from domain.errors import InvalidDefinition
from domain.problems import Problem
from domain.validation import definition_to_document, parse_definition

WORKSPACE = "ws_recursion"
LEAF: dict[str, Any] = {"nodes": [{"id": "done", "kind": "noop"}]}


def starts(workflow: str, version: int | None = None, **settings: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"workflow": workflow}
    if version is not None:
        config["version"] = version
    document: dict[str, Any] = {
        "nodes": [{"id": "child", "kind": "sub_workflow", "config": config}]
    }
    if settings:
        document["settings"] = settings
    return document


class Workflows:
    """Create and update workflows of one workspace through the use cases."""

    def __init__(self) -> None:
        self.store = InMemoryStore(clock=SystemClock())
        self.uow = InMemoryUnitOfWorkFactory(self.store)
        self.loaded: list[tuple[str, int]] = []

    async def create(self, name: str, document: dict[str, Any]) -> str:
        handler = CreateWorkflowHandler(self.uow, SystemClock())
        return (await handler(CreateWorkflow(WORKSPACE, name, document))).id

    async def update(self, workflow_id: str, document: dict[str, Any]) -> int:
        handler = UpdateWorkflowHandler(self.uow, SystemClock())
        return (await handler(UpdateWorkflow(WORKSPACE, workflow_id, document))).latest_version

    async def archive(self, workflow_id: str) -> None:
        await ArchiveWorkflowHandler(self.uow, SystemClock())(
            ArchiveWorkflow(WORKSPACE, workflow_id)
        )

    async def refused(self, workflow_id: str, document: dict[str, Any]) -> list[Problem]:
        with pytest.raises(InvalidDefinition) as raised:
            await self.update(workflow_id, document)
        return [p for p in raised.value.problems if isinstance(p, Problem)]

    def count_loads(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Record every version the walk loads in `self.loaded`."""
        original = self.store.versions.get
        versions = self.store.versions

        class Counting(dict[tuple[str, int], WorkflowVersion]):
            def get(self, key: Any, default: Any = None) -> Any:
                loaded.append(key)
                return original(key, default)

        loaded = self.loaded
        counting = Counting(versions)
        monkeypatch.setattr(self.store, "versions", counting)


@pytest.fixture
def flows() -> Workflows:
    return Workflows()


def test_the_setting_is_read_and_written_back() -> None:
    definition = parse_definition(starts("x", allow_recursion=True))
    assert definition.settings.allow_recursion is True
    assert definition_to_document(definition)["settings"]["allow_recursion"] is True
    assert parse_definition(definition_to_document(definition)) == definition
    plain = parse_definition(starts("x"))
    assert plain.settings.allow_recursion is False
    assert "allow_recursion" not in definition_to_document(plain)["settings"]
    with pytest.raises(InvalidDefinition) as raised:
        parse_definition({**starts("x"), "settings": {"allow_recursion": 1}})
    problems = [p for p in raised.value.problems if isinstance(p, Problem)]
    assert [(p.code, p.path) for p in problems] == [("invalid_type", "settings.allow_recursion")]


async def test_a_new_workflow_naming_itself_is_recursive_not_unknown(flows: Workflows) -> None:
    definition = parse_definition(starts("report"))
    async with flows.uow() as uow:
        named = await check_definition(uow, WORKSPACE, definition, Saving(name="report"))
        anonymous = await check_definition(uow, WORKSPACE, definition)
    assert [(p.code, p.path) for p in named.problems] == [
        ("recursive_workflow", "nodes[0].config.workflow")
    ]
    # Without the name being saved (as before), it names a workflow that does not exist.
    assert [p.code for p in anonymous.problems] == ["unknown_workflow"]


async def test_an_older_version_of_itself_is_walked_like_another_workflow(
    flows: Workflows,
) -> None:
    report = await flows.create("report", LEAF)

    # Version 2 starts version 1, which starts nothing: nesting ends.
    assert await flows.update(report, starts(report, version=1)) == 2
    # Version 3 starts itself, allowed; version 4 starts version 3, which starts the latest.
    assert await flows.update(report, starts("report", allow_recursion=True)) == 3
    problems = await flows.refused(report, starts("report", version=3))
    assert [(p.code, p.path) for p in problems] == [
        ("recursive_workflow", "nodes[0].config.workflow")
    ]
    assert "report -> report version 3 -> report" in problems[0].message
    # Pinning the version being saved is starting itself.
    assert [p.code for p in await flows.refused(report, starts(report, version=4))] == [
        "recursive_workflow"
    ]


async def test_an_archived_workflow_is_not_followed(flows: Workflows) -> None:
    a = await flows.create("a", LEAF)
    b = await flows.create("b", starts("a"))
    await flows.archive(b)  # it cannot be started, so a -> b -> a cannot run

    assert await flows.update(a, starts("b")) == 2


async def test_the_first_cycle_found_is_the_shortest(flows: Workflows) -> None:
    a = await flows.create("a", LEAF)
    await flows.create("c", starts("a"))
    await flows.create("b", starts("c"))
    both = {
        "nodes": [
            {"id": "long", "kind": "sub_workflow", "config": {"workflow": "b"}},
            {"id": "short", "kind": "for_each", "config": {"items": [1], "workflow": "c"}},
            {"id": "dynamic", "kind": "sub_workflow", "config": {"workflow": "{{ input.w }}"}},
        ]
    }
    problems = await flows.refused(a, both)
    assert [(p.path, p.message.split(":")[1].split(";")[0].strip()) for p in problems] == [
        ("nodes[0].config.workflow", "a -> b -> c -> a"),
        ("nodes[1].config.workflow", "a -> c -> a"),
    ]


def chain_document(names: list[str]) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": f"to_{index}", "kind": "sub_workflow", "config": {"workflow": name}}
            for index, name in enumerate(names)
        ]
    }


async def test_each_workflow_is_loaded_once(
    flows: Workflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every workflow starts every one created before it, the newest first: many paths,
    # and each workflow is reached again before it is loaded.
    names = [f"w{number}" for number in range(6)]
    await flows.create(names[0], LEAF)
    for number in range(1, len(names)):
        await flows.create(names[number], chain_document(names[:number][::-1]))
    top = await flows.create("top", chain_document(names))
    flows.count_loads(monkeypatch)

    assert await flows.update(top, chain_document(names[::-1])) == 2
    walked = [key for key in flows.loaded if key[0] != top]
    assert len(walked) == len(set(walked)) == len(names)


async def test_the_walk_stops_after_its_bound(
    flows: Workflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a -> w0 -> w1 -> w2 -> w3 -> a: a cycle through five workflows.
    a = await flows.create("a", LEAF)
    previous = "a"
    for number in reversed(range(4)):
        await flows.create(f"w{number}", starts(previous))
        previous = f"w{number}"

    monkeypatch.setattr(recursion_check, "MAX_WORKFLOWS", 3)
    assert await flows.update(a, starts("w0")) == 2  # the cycle lies beyond the bound

    monkeypatch.setattr(recursion_check, "MAX_WORKFLOWS", 4)
    problems = await flows.refused(a, starts("w0"))
    assert "a -> w0 -> w1 -> w2 -> w3 -> a" in problems[0].message
