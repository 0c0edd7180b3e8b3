"""Webhook triggers and their deliveries: the same behaviour in memory and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from application.triggers.records import Trigger, TriggerDelivery
from application.triggers.rules import new_trigger_id
from tests.contract.builders import WORKSPACE, add_workflow
from tests.contract.conftest import Backend


def trigger(workflow_id: str, backend: Backend, **changes: object) -> Trigger:
    now = backend.clock.now()
    base = Trigger(
        id=new_trigger_id(),
        workspace_id=WORKSPACE,
        workflow_id=workflow_id,
        name="pushes",
        enabled=True,
        verification="github",
        secret_ciphertext=b"\x00sealed\xff",
        created_at=now,
        updated_at=now,
        delivery_id_header="x-github-delivery",
        headers=("x-github-event", "x-github-delivery"),
        input_template={"repo": "{{ body.repository.full_name }}", "n": [1, None, True]},
        respond="wait",
        respond_node="first",
        wait_seconds=2.5,
        max_body_bytes=4096,
        rate_limit=0.5,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_a_trigger_round_trips_and_is_found_by_id_alone(backend: Backend) -> None:
    workflow = await add_workflow(backend.uow, backend.clock.now())
    added = trigger(workflow.id, backend)
    plain = trigger(
        workflow.id,
        backend,
        verification="none",
        secret_ciphertext=None,
        input_template=None,
        headers=(),
        respond_node=None,
        delivery_id_header=None,
    )
    async with backend.uow() as uow:
        await uow.triggers.add(added)
        await uow.triggers.add(plain)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.triggers.get(WORKSPACE, added.id) == added
        assert await uow.triggers.get("ws_other", added.id) is None
        assert await uow.triggers.find(added.id) == added
        assert await uow.triggers.find(plain.id) == plain
        assert await uow.triggers.find("trg_missing") is None


async def test_triggers_are_saved_searched_by_workflow_and_deleted(backend: Backend) -> None:
    now = backend.clock.now()
    first = await add_workflow(backend.uow, now, "first")
    second = await add_workflow(backend.uow, now, "second")
    one = trigger(first.id, backend)
    backend.clock.advance(1)
    two = trigger(second.id, backend)
    async with backend.uow() as uow:
        await uow.triggers.add(one)
        await uow.triggers.add(two)
        await uow.commit()
    changed = replace(one, enabled=False, name="renamed", updated_at=backend.clock.advance(1))
    async with backend.uow() as uow:
        await uow.triggers.save(changed)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.triggers.search(WORKSPACE) == [changed, two]
        assert await uow.triggers.search(WORKSPACE, workflow_id=second.id) == [two]
        assert await uow.triggers.search("ws_other") == []
        await uow.triggers.delete(one.id)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.triggers.find(one.id) is None


async def test_deliveries_keep_the_newest_and_go_with_their_trigger(backend: Backend) -> None:
    workflow = await add_workflow(backend.uow, backend.clock.now())
    kept = trigger(workflow.id, backend)
    other = trigger(workflow.id, backend)
    async with backend.uow() as uow:
        await uow.triggers.add(kept)
        await uow.triggers.add(other)
        await uow.commit()
    for number in range(5):
        delivery = TriggerDelivery(
            kept.id,
            backend.clock.advance(1),
            202 if number % 2 == 0 else 401,
            execution_id=f"ex_{number}" if number % 2 == 0 else None,
            delivery_id=f"d-{number}" if number % 2 == 0 else None,
            error_code=None if number % 2 == 0 else "invalid_signature",
        )
        async with backend.uow() as uow:
            await uow.triggers.record_delivery(delivery, keep=3)
            await uow.commit()
    async with backend.uow() as uow:
        await uow.triggers.record_delivery(TriggerDelivery(other.id, backend.clock.now(), 202), 3)
        await uow.commit()
    async with backend.uow() as uow:
        newest = await uow.triggers.deliveries(kept.id, limit=10)
        assert [d.delivery_id for d in newest] == ["d-4", None, "d-2"]
        assert newest[1].error_code == "invalid_signature" and newest[1].status_code == 401
        assert newest[0] == TriggerDelivery(
            kept.id, newest[0].received_at, 202, "ex_4", "d-4", None
        )
        assert len(await uow.triggers.deliveries(kept.id, limit=2)) == 2
        await uow.triggers.delete(kept.id)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.triggers.deliveries(kept.id, limit=10) == []
        assert len(await uow.triggers.deliveries(other.id, limit=10)) == 1
        # A delivery of a trigger deleted meanwhile is not kept.
        await uow.triggers.record_delivery(TriggerDelivery(kept.id, backend.clock.now(), 202), 3)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.triggers.deliveries(kept.id, limit=10) == []


async def test_an_uncommitted_trigger_is_rolled_back(backend: Backend) -> None:
    workflow = await add_workflow(backend.uow, backend.clock.now())
    added = trigger(workflow.id, backend)
    async with backend.uow() as uow:
        await uow.triggers.add(added)
    async with backend.uow() as uow:
        assert await uow.triggers.find(added.id) is None
