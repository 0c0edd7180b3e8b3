"""Workflows with versions, schedules, workspaces, tokens and secrets: round trips and keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from application.errors import Conflict
from application.ids import new_id
from application.records import ApiToken, Schedule, StoredSecret, Workspace
from tests.contract.builders import WORKSPACE, add_workflow, version, workflow
from tests.contract.conftest import Backend


async def test_a_workflow_and_its_versions_round_trip(backend: Backend) -> None:
    now = backend.clock.now()
    added = await add_workflow(backend.uow, now)
    later = backend.clock.advance(5)
    newer = replace(added, latest_version=2, updated_at=later)
    async with backend.uow() as uow:
        await uow.workflows.add_version(newer, version(added.id, 2, later))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.workflows.get(WORKSPACE, added.id) == newer
        assert await uow.workflows.get("ws_other", added.id) is None
        assert await uow.workflows.get_by_name(WORKSPACE, "orders") == newer
        assert await uow.workflows.get_by_name(WORKSPACE, "missing") is None
        assert await uow.workflows.get_version(added.id, 1) == version(added.id, 1, now)
        assert await uow.workflows.get_version(added.id, 3) is None
        listed = await uow.workflows.list_versions(added.id)
    assert [v.version for v in listed] == [2, 1]
    assert listed[0].document["number"] == 2


async def test_a_duplicate_name_or_version_conflicts(backend: Backend) -> None:
    now = backend.clock.now()
    added = await add_workflow(backend.uow, now)
    twin = workflow(now, "orders")
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.workflows.add(twin, version(twin.id, 1, now))
        with pytest.raises(Conflict):
            await uow.workflows.add_version(added, version(added.id, 1, now))
        # The transaction stays usable after a conflict.
        assert await uow.workflows.get(WORKSPACE, added.id) == added


async def test_workflow_search_filters_by_name_and_pages_by_name(backend: Backend) -> None:
    now = backend.clock.now()
    names = ["beta", "alpha", "Zeta", "alphabet", "gamma"]
    for name in names:
        await add_workflow(backend.uow, now, name)
    async with backend.uow() as uow:
        everything = await uow.workflows.search(WORKSPACE)
        alphas = await uow.workflows.search(WORKSPACE, name="alpha")
        first_page = await uow.workflows.search(WORKSPACE, limit=2)
        second_page = await uow.workflows.search(WORKSPACE, limit=2, after=first_page[-1].id)
        archived = replace(everything[0], archived=True, description="old")
        await uow.workflows.save(archived)
        assert await uow.workflows.get(WORKSPACE, archived.id) == archived
    assert [w.name for w in everything] == sorted(names)
    assert [w.name for w in alphas] == ["alpha", "alphabet"]
    assert [w.name for w in first_page + second_page] == sorted(names)[:4]


def schedule(workflow_id: str, backend: Backend, **changes: object) -> Schedule:
    now = backend.clock.now()
    base = Schedule(
        id=new_id("sch"),
        workspace_id=WORKSPACE,
        workflow_id=workflow_id,
        cron="*/5 * * * *",
        timezone="Europe/Paris",
        input={"from": "cron"},
        enabled=True,
        next_fire_at=now,
        created_at=now,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_schedules_round_trip_and_only_due_enabled_ones_lock(backend: Backend) -> None:
    added = await add_workflow(backend.uow, backend.clock.now())
    now = backend.clock.now()
    due = schedule(added.id, backend, next_fire_at=now - timedelta(minutes=1))
    also_due = schedule(added.id, backend, next_fire_at=now)
    future = schedule(added.id, backend, next_fire_at=now + timedelta(seconds=1))
    disabled = schedule(added.id, backend, enabled=False, next_fire_at=now)
    never = schedule(added.id, backend, next_fire_at=None)
    async with backend.uow() as uow:
        for item in (due, also_due, future, disabled, never):
            await uow.schedules.add(item)
        await uow.commit()
    async with backend.uow() as uow:
        locked = await uow.schedules.lock_due(now, limit=10)
        only_one = await uow.schedules.lock_due(now, limit=1)
        fired = replace(due, next_fire_at=now + timedelta(minutes=5), last_fired_at=now)
        await uow.schedules.save(fired)
        await uow.schedules.delete(never.id)
        await uow.commit()
    assert [s.id for s in locked] == [due.id, also_due.id]
    assert [s.id for s in only_one] == [due.id]
    async with backend.uow() as uow:
        assert await uow.schedules.get(WORKSPACE, due.id) == fired
        assert await uow.schedules.get("ws_other", due.id) is None
        listed = await uow.schedules.search(WORKSPACE, workflow_id=added.id)
        assert await uow.schedules.search(WORKSPACE, workflow_id="wf_none") == []
    assert {s.id for s in listed} == {due.id, also_due.id, future.id, disabled.id}


async def test_workspaces_have_unique_names(backend: Backend) -> None:
    now = backend.clock.now()
    workspace = Workspace("ws_a", "acme", now)
    async with backend.uow() as uow:
        await uow.workspaces.add(workspace)
        with pytest.raises(Conflict):
            await uow.workspaces.add(Workspace("ws_b", "acme", now))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.workspaces.get("ws_a") == workspace
        assert await uow.workspaces.get_by_name("acme") == workspace
        assert await uow.workspaces.get("ws_b") is None


async def test_tokens_are_found_by_hash_and_revoked_by_save(backend: Backend) -> None:
    now = backend.clock.now()
    first = ApiToken("tok_1", WORKSPACE, "ci", "editor", "hash-1", now)
    second = ApiToken("tok_2", WORKSPACE, "admin", "admin", "hash-2", now + timedelta(seconds=1))
    async with backend.uow() as uow:
        await uow.tokens.add(second)
        await uow.tokens.add(first)
        await uow.commit()
    revoked = replace(first, revoked_at=now + timedelta(hours=1))
    async with backend.uow() as uow:
        await uow.tokens.save(revoked)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tokens.find_by_hash("hash-1") == revoked
        assert await uow.tokens.find_by_hash("nope") is None
        assert await uow.tokens.search(WORKSPACE) == [revoked, second]
        assert await uow.tokens.search("ws_other") == []
        assert await uow.tokens.get(WORKSPACE, revoked.id) == revoked
        assert await uow.tokens.get("ws_other", revoked.id) is None, "another workspace's"
        assert await uow.tokens.get(WORKSPACE, "tok_nope") is None


async def test_secrets_are_replaced_listed_by_name_and_deleted(backend: Backend) -> None:
    now = backend.clock.now()
    later = now + timedelta(minutes=1)

    def secret(name: str, value: bytes, at: object = now) -> StoredSecret:
        return StoredSecret(WORKSPACE, name, value, now, at)  # type: ignore[arg-type]

    async with backend.uow() as uow:
        await uow.secrets.put(secret("b_key", b"\x00\xffold"))
        await uow.secrets.put(secret("a_key", b"a"))
        await uow.secrets.put(secret("b_key", b"\x00\xffnew", later))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.secrets.get_many(WORKSPACE, ["b_key", "zz", "a_key"]) == [
            secret("b_key", b"\x00\xffnew", later),
            secret("a_key", b"a"),
        ]
        assert [s.name for s in await uow.secrets.search(WORKSPACE)] == ["a_key", "b_key"]
        assert await uow.secrets.get_many("ws_other", ["a_key"]) == []
        assert await uow.secrets.delete(WORKSPACE, "a_key") is True
        assert await uow.secrets.delete(WORKSPACE, "a_key") is False
        await uow.commit()
    async with backend.uow() as uow:
        assert [s.name for s in await uow.secrets.search(WORKSPACE)] == ["b_key"]
