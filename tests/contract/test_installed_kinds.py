"""Node kinds from installed packages on each adapter: an execution records the installed
kinds its workflow uses, whichever way it is inserted; a worker claims (and wakes for) only
executions whose kinds it has, leaving the rest to workers that have them; the registry of
the kinds the workers have keeps the newest description of each."""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import providers

from application.node_kinds import register_kinds
from application.ports.node_kinds import KindDescription
from application.ports.unit_of_work import NewExecution
from application.use_cases.create_workflow import CreateWorkflow
from application.use_cases.start_run import StartRun
from domain.status import ExecutionStatus
from entrypoints.containers import Engine
from tests.contract.builders import NODES, add_execution, add_workflow, execution, get_execution
from tests.contract.conftest import Backend

WORKSPACE = "ws_kinds"
LEASE = timedelta(days=30)
CRM = "crm.lookup_customer"
SLUG = "text.slugify"


async def test_a_worker_claims_only_what_its_installed_kinds_can_run(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    plain = await add_execution(backend.uow, flow.id, now)
    crm = await add_execution(backend.uow, flow.id, now, required_kinds=(CRM,))
    both = await add_execution(backend.uow, flow.id, now, required_kinds=(CRM, SLUG))

    bare = backend.queue_for([], kinds=[])
    with_crm = backend.queue_for([], kinds=[CRM])
    with_both = backend.queue_for([], kinds=[SLUG, CRM])

    assert {lease.execution_id for lease in await with_crm.claim("w2", 10, LEASE)} == {
        plain.id,
        crm.id,
    }
    assert await bare.claim("w1", 10, LEASE) == []
    assert [lease.execution_id for lease in await with_both.claim("w3", 10, LEASE)] == [both.id]


async def test_a_worker_wakes_only_for_what_it_can_run(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    waiting = ExecutionStatus.WAITING
    soon, later = now + timedelta(seconds=20), now + timedelta(seconds=40)
    await add_execution(
        backend.uow, flow.id, now, status=waiting, wake_at=soon, required_kinds=(CRM,)
    )
    await add_execution(backend.uow, flow.id, now, status=waiting, wake_at=later)

    assert await backend.queue_for([], kinds=[]).next_wake_in(3600) == 40
    assert await backend.queue_for([], kinds=[CRM]).next_wake_in(3600) == 20


async def test_the_required_kinds_survive_every_way_of_inserting(backend: Backend) -> None:
    now = backend.clock.now()
    flow = await add_workflow(backend.uow, now)
    one = await add_execution(backend.uow, flow.id, now, required_kinds=(CRM, SLUG))
    many = [execution(flow.id, now, required_kinds=(SLUG,)) for _ in range(3)]
    async with backend.uow() as tx:
        await tx.executions.add_many([NewExecution(item, NODES) for item in many])
        await tx.commit()

    found = await get_execution(backend.uow, one.id)
    assert found is not None and found.required_kinds == (CRM, SLUG)
    for item in many:
        stored = await get_execution(backend.uow, item.id)
        assert stored is not None and stored.required_kinds == (SLUG,)


async def test_a_run_of_a_workflow_with_an_installed_kind_needs_a_worker_that_has_it(
    backend: Backend,
) -> None:
    engine = Engine(
        clock=providers.Object(backend.clock),
        uow_factory=providers.Object(backend.uow),
        queue=providers.Object(backend.queue),
        run_inserts=providers.Object(backend.run_inserts),
    )
    await register_kinds(backend.uow, [KindDescription(SLUG, "Slugify")], backend.clock.now())
    document = {
        "nodes": [
            {"id": "slug", "kind": SLUG, "config": {"text": "{{ input.title }}"}},
            {"id": "done", "kind": "noop"},
        ],
        "edges": [{"from": "slug", "to": "done"}],
    }
    workflow = await engine.create_workflow()(CreateWorkflow(WORKSPACE, "slugs", document))
    started = await engine.start_run()(StartRun(WORKSPACE, workflow.id, {"title": "Hi"}))

    stored = await get_execution(backend.uow, started.execution.id)
    assert stored is not None and stored.required_kinds == (SLUG,)
    assert await backend.queue_for([], kinds=[]).claim("bare", 10, LEASE) == []


async def test_the_registry_keeps_the_newest_description_of_each_kind(backend: Backend) -> None:
    first = backend.clock.now()
    schema = {"type": "object", "properties": {"text": {"type": "string"}}}
    await register_kinds(
        backend.uow,
        [
            KindDescription(SLUG, "Slugify", "old", schema, {"text": "a"}, "pkg 0.1"),
            KindDescription(CRM, "Look up", package="crm 1.0"),
        ],
        first,
    )
    backend.clock.advance(300)
    await register_kinds(
        backend.uow, [KindDescription(SLUG, "Slugify", "new")], backend.clock.now()
    )

    async with backend.uow() as tx:
        registered = await tx.node_kinds.registered()
    assert [kind.description.name for kind in registered] == [CRM, SLUG]
    crm, slug = registered
    assert (crm.description.package, crm.last_seen_at) == ("crm 1.0", first)
    assert slug.description == KindDescription(SLUG, "Slugify", "new")
    assert slug.last_seen_at == first + timedelta(seconds=300)
