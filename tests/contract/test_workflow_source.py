"""A workflow version's source (the text its author wrote) through both adapters: it round
trips as written, a version without one reads back as None, and saving the same document
and source again makes no version."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from adapters.clock import FakeClock
from adapters.postgres.migrate import upgrade
from adapters.postgres.setup import PostgresAdapters
from adapters.postgres.urls import libpq_conninfo
from application.records import WorkflowVersion
from application.use_cases.create_workflow import (
    CreateWorkflow,
    CreateWorkflowHandler,
    SourceText,
)
from application.use_cases.update_workflow import UpdateWorkflow, UpdateWorkflowHandler
from entrypoints.api.schemas.workflows import source_reader
from tests.contract.builders import WORKSPACE, workflow
from tests.contract.conftest import Backend
from tests.support.databases import drop_database, fresh_database_url

YAML = """\
# Comments, blank lines and odd spacing are the author's: all of it is kept.

nodes:
  - id: only      # the one node
    kind: noop
edges: []   # none
"""

DOCUMENT: dict[str, Any] = {"nodes": [{"id": "only", "kind": "noop"}], "edges": []}


def written(text: str) -> SourceText:
    return SourceText(text, source_reader(None))


async def test_a_source_round_trips_as_written(backend: Backend) -> None:
    now = backend.clock.now()
    added = workflow(now)
    first = WorkflowVersion(added.id, 1, DOCUMENT, now, source=YAML, source_format="yaml")
    async with backend.uow() as uow:
        await uow.workflows.add(added, first)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.workflows.get_version(added.id, 1)
        listed = await uow.workflows.list_versions(added.id)
    assert found == first
    assert found is not None and found.source == YAML and found.source_format == "yaml"
    assert [version.source for version in listed] == [YAML]


async def test_a_version_without_a_source_reads_back_as_none(backend: Backend) -> None:
    now = backend.clock.now()
    added = workflow(now)
    async with backend.uow() as uow:
        await uow.workflows.add(added, WorkflowVersion(added.id, 1, DOCUMENT, now))
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.workflows.get_version(added.id, 1)
    assert found is not None
    assert (found.source, found.source_format) == (None, None)


async def test_saving_the_same_source_again_makes_no_version(backend: Backend) -> None:
    create = CreateWorkflowHandler(backend.uow, backend.clock)
    update = UpdateWorkflowHandler(backend.uow, backend.clock)
    made = await create(CreateWorkflow(WORKSPACE, "sourced", source=written(YAML)))

    again = await update.save(UpdateWorkflow(WORKSPACE, made.id, source=written(YAML)))
    edited = YAML.replace("# none", "# no edges")
    changed = await update.save(UpdateWorkflow(WORKSPACE, made.id, source=written(edited)))

    assert again.unchanged and again.workflow.latest_version == 1
    assert not changed.unchanged and changed.workflow.latest_version == 2
    async with backend.uow() as uow:
        versions = await uow.workflows.list_versions(made.id)
    assert [(v.version, v.source, v.source_format) for v in versions] == [
        (2, edited, "yaml"),
        (1, YAML, "yaml"),
    ]
    assert versions[0].document == versions[1].document


async def test_the_same_document_saved_as_an_object_again_makes_no_version(
    backend: Backend,
) -> None:
    create = CreateWorkflowHandler(backend.uow, backend.clock)
    update = UpdateWorkflowHandler(backend.uow, backend.clock)
    made = await create(CreateWorkflow(WORKSPACE, "plain", DOCUMENT))

    again = await update.save(UpdateWorkflow(WORKSPACE, made.id, DOCUMENT, "described"))

    assert again.unchanged
    async with backend.uow() as uow:
        assert [v.version for v in await uow.workflows.list_versions(made.id)] == [1]
        stored = await uow.workflows.get(WORKSPACE, made.id)
    assert stored is not None and stored.description == "described"


@pytest.fixture
def database_before_sources(postgres_server_url: str) -> Iterator[str]:
    """A fresh database migrated to the revision before versions had a source."""
    url = fresh_database_url(postgres_server_url, "treadle_sources")
    upgrade(url, "0009")
    yield url
    drop_database(url)


async def test_a_version_stored_before_sources_existed_has_none(
    database_before_sources: str,
) -> None:
    url = database_before_sources
    created = datetime(2026, 1, 1, tzinfo=UTC)
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO workflows (id, workspace_id, name, latest_version, created_at,"
            " updated_at) VALUES ('wf_old', %s, 'old', 1, %s, %s)",
            (WORKSPACE, created, created),
        )
        conn.execute(
            "INSERT INTO workflow_versions (workflow_id, version, document, created_at)"
            " VALUES ('wf_old', 1, %s, %s)",
            (psycopg.types.json.Jsonb(DOCUMENT), created),
        )
    upgrade(url)
    adapters = PostgresAdapters(url, FakeClock(), pool_size=1)
    try:
        async with adapters.uow_factory() as uow:
            found = await uow.workflows.get_version("wf_old", 1)
    finally:
        await adapters.close()
    assert found is not None
    assert found.document == DOCUMENT
    assert (found.source, found.source_format) == (None, None)
