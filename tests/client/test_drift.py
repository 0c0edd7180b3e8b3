"""The client's models cannot drift from the server: every model is checked against the
response schema the API publishes in its OpenAPI document, and importing the client
pulls in nothing of the server."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

import treadle_client
from entrypoints.api.app import create_app
from tests.api.conftest import api_settings, memory_runtime
from treadle_client import models

# Each client model and the OpenAPI schema of the response it decodes.
SCHEMA_OF: dict[type[models.Model], str] = {
    models.Problem: "ProblemOut",
    models.Workflow: "WorkflowOut",
    models.WorkflowDetail: "WorkflowDetail",
    models.WorkflowSaved: "WorkflowSaved",
    models.WorkflowCheck: "WorkflowCheck",
    models.WorkflowPage: "WorkflowPage",
    models.WorkflowVersion: "VersionOut",
    models.Run: "RunOut",
    models.BulkRuns: "BulkRunOut",
    models.Execution: "ExecutionOut",
    models.NodeRun: "NodeRunOut",
    models.ExecutionDetail: "ExecutionDetailOut",
    models.ExecutionPage: "ExecutionPage",
    models.Event: "EventOut",
    models.EventPage: "EventPageOut",
    models.Signal: "SignalOut",
    models.Schedule: "ScheduleOut",
    models.Secret: "SecretOut",
    models.Token: "TokenOut",
    models.TokenCreated: "TokenCreated",
    models.Workspace: "WorkspaceOut",
    models.Member: "MemberOut",
    models.Invitation: "InvitationOut",
    models.Members: "MembersOut",
    models.WorkspaceRef: "WorkspaceRef",
    models.TokenRef: "TokenRef",
    models.UserRef: "UserRef",
    models.WorkspaceRole: "WorkspaceRoleOut",
    models.Me: "MeOut",
    models.NodeKind: "NodeKindOut",
    models.Retention: "RetentionOut",
    models.Trigger: "TriggerOut",
    models.TriggerSaved: "TriggerSaved",
    models.Delivery: "DeliveryOut",
    models.AuditActor: "ActorOut",
    models.AuditEntry: "AuditEntryOut",
    models.AuditPage: "AuditPage",
}
# The request bodies the client sends, and the schema the server reads them with.
BODY_OF: dict[type[msgspec.Struct], str] = {models.RunSpec: "BulkRun"}
# What the workspace's live stream sends: OpenAPI does not describe a stream's messages,
# so tests/client/test_streams.py decodes them, strictly, from a real stream instead.
STREAM_ONLY: set[type[msgspec.Struct]] = {models.ExecutionChange, models.ChangesMissed}

ANY = "any"


@pytest.fixture(scope="module")
async def openapi() -> dict[str, Any]:
    settings = api_settings()
    runtime, _ = await memory_runtime(settings)
    try:
        async with AsyncTestClient(app=create_app(runtime, settings)) as client:
            response = await client.get("/schema/openapi.json")
            assert response.status_code == 200
            document: dict[str, Any] = response.json()
            return document
    finally:
        await runtime.close()


def kinds(schema: dict[str, Any]) -> frozenset[str]:
    """The JSON types a schema allows, an array's with its items' (`array[string]`), a
    string's with its format (`string:date-time`), a model's by its name (`$RunOut`);
    `any` when it allows anything."""
    if "$ref" in schema:
        return frozenset({"$" + schema["$ref"].rsplit("/", 1)[-1]})
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return frozenset().union(*(kinds(part) for part in schema[union]))
    declared = schema.get("type")
    if declared is None:
        return frozenset({ANY})
    out = set()
    for name in [declared] if isinstance(declared, str) else declared:
        if name == "array":
            items = ",".join(sorted(kinds(schema.get("items", {}))))
            out.add(f"array[{items}]")
        elif name == "string" and "format" in schema:
            out.add(f"string:{schema['format']}")
        else:
            out.add(name)
    return frozenset(out)


def client_schemas() -> dict[str, dict[str, Any]]:
    structs = [*SCHEMA_OF, *BODY_OF]
    _, components = msgspec.json.schema_components(structs, ref_template="#/$defs/{name}")
    return components


def _rename(kind: str, names: dict[str, str]) -> str:
    """A kind of the client's schema with its model names replaced by the server's."""
    if kind.startswith("array["):
        inner = kind[len("array[") : -1].split(",")
        return "array[" + ",".join(sorted(_rename(part, names) for part in inner)) + "]"
    return names.get(kind, kind)


def test_every_model_is_checked_against_the_server() -> None:
    exported = {
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, msgspec.Struct)
    }
    assert exported - {models.Model} == set(SCHEMA_OF) | set(BODY_OF) | STREAM_ONLY


@pytest.mark.parametrize("model", list(SCHEMA_OF), ids=lambda model: model.__name__)
def test_a_model_reads_what_the_server_answers(
    model: type[models.Model], openapi: dict[str, Any]
) -> None:
    server = openapi["components"]["schemas"][SCHEMA_OF[model]]
    ours = client_schemas()[model.__name__]
    server_fields, our_fields = server["properties"], ours["properties"]
    unknown = set(our_fields) - set(server_fields)
    assert not unknown, f"{model.__name__} has fields the server never sends: {unknown}"
    missing = set(server.get("required", [])) - set(our_fields)
    assert not missing, f"{model.__name__} lacks fields the server always sends: {missing}"
    for name in ours.get("required", []):
        assert name in server.get("required", []), f"{model.__name__}.{name} may be absent"
    names = {f"${m.__name__}": f"${n}" for m, n in SCHEMA_OF.items()}
    for name, schema in our_fields.items():
        theirs = kinds(server_fields[name])
        mine = {_rename(kind, names) for kind in kinds(schema)}
        if "number" in mine:
            mine.add("integer")
        assert ANY in mine or theirs <= mine, f"{model.__name__}.{name}: {mine} vs {theirs}"


@pytest.mark.parametrize("body", list(BODY_OF), ids=lambda body: body.__name__)
def test_a_request_body_is_one_the_server_reads(
    body: type[msgspec.Struct], openapi: dict[str, Any]
) -> None:
    server = openapi["components"]["schemas"][BODY_OF[body]]
    ours = client_schemas()[body.__name__]
    assert set(ours["properties"]) <= set(server["properties"])
    assert set(server.get("required", [])) <= set(ours.get("required", []))
    for name, schema in ours["properties"].items():
        mine, theirs = kinds(schema), kinds(server["properties"][name])
        assert ANY in theirs or mine <= theirs, f"{body.__name__}.{name}: {mine} vs {theirs}"


def test_importing_the_client_loads_no_server_engine_or_driver() -> None:
    probe = (
        "import json, sys, treadle_client; "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", probe], text=True)))
    forbidden = {"litestar", "sqlalchemy", "psycopg", "application", "adapters", "entrypoints"}
    forbidden |= {"domain", "uvicorn", "pydantic"}
    assert not loaded & forbidden
    assert treadle_client.Client and treadle_client.AsyncClient
