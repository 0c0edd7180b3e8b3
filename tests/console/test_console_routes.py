"""Console routes over the in-memory runtime: sign-in, cookie, CSRF, roles, isolation,
and the editor's problems. The browser tests cover the same pages end to end."""

from __future__ import annotations

import json

from tests.api.workflows import ECHO, WAITS_FOR_GO
from tests.console.conftest import Console


async def test_pages_send_a_visitor_without_a_cookie_to_sign_in(console: Console) -> None:
    response = await console.client.get("/console/workflows")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fworkflows"


async def test_signing_in_sets_a_lax_http_only_cookie_and_signing_out_clears_it(
    console: Console,
) -> None:
    response = await console.post("/console/sign-in", token=console.tokens["a_admin"])
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert (await console.client.get("/console/workflows")).status_code == 200
    await console.post("/console/sign-out")
    assert (await console.client.get("/console/workflows")).status_code == 303


async def test_a_wrong_token_is_refused_with_a_message(console: Console) -> None:
    response = await console.post("/console/sign-in", token="trd_not-a-token")
    assert response.status_code == 401
    assert "not valid" in response.text


async def test_a_post_from_another_origin_or_without_one_is_refused(console: Console) -> None:
    await console.sign_in("a_admin")
    for headers in ({"Origin": "http://evil.test"}, {}):
        response = await console.client.post(
            "/console/workflows/new",
            data={"name": "x", "definition": json.dumps(ECHO)},
            headers=headers,
        )
        assert response.status_code == 403
    listing = await console.client.get("/console/workflows")
    assert "No workflows yet" in listing.text


async def test_every_problem_is_listed_with_its_path_and_line(console: Console) -> None:
    await console.sign_in("a_admin")
    broken = {**ECHO, "edges": [{"from": "double", "to": "nowhere"}]}
    text = json.dumps(broken, indent=2)
    response = await console.post("/console/workflows/new", name="w", definition=text)
    assert response.status_code == 422
    assert 'data-path="edges[0].to"' in response.text
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"nowhere"' in row)
    assert f'data-line="{line}"' in response.text


async def test_yaml_definitions_are_accepted(console: Console) -> None:
    await console.sign_in("a_admin")
    text = "nodes:\n  - id: only\n    kind: noop\nedges: []\n"
    response = await console.post("/console/workflows/new", name="yaml", definition=text)
    assert response.status_code == 303


async def test_a_viewer_can_read_but_not_change(console: Console) -> None:
    await console.sign_in("a_admin")
    workflow_id = await console.workflow(WAITS_FOR_GO)
    await console.sign_in("a_viewer")
    assert (await console.client.get(f"/console/workflows/{workflow_id}")).status_code == 200
    response = await console.post(f"/console/workflows/{workflow_id}/run", input="{}")
    assert response.status_code == 403
    assert "editor role" in response.text


async def test_another_workspace_sees_nothing(console: Console) -> None:
    await console.sign_in("a_admin")
    workflow_id = await console.workflow(WAITS_FOR_GO)
    started = await console.post(f"/console/workflows/{workflow_id}/run", input="{}")
    execution_path = str(started.headers["location"]).split("?")[0]
    await console.sign_in("b_admin")
    assert (await console.client.get(f"/console/workflows/{workflow_id}")).status_code == 404
    assert (await console.client.get(execution_path)).status_code == 404
    assert (await console.post(execution_path + "/cancel")).status_code == 404


async def test_run_input_that_is_not_json_is_shown_beside_the_form(console: Console) -> None:
    await console.sign_in("a_admin")
    workflow_id = await console.workflow(ECHO)
    response = await console.post(f"/console/workflows/{workflow_id}/run", input="{nope")
    assert response.status_code == 422
    assert "not valid JSON" in response.text


async def test_the_api_and_its_schema_are_unchanged(console: Console) -> None:
    await console.sign_in("a_admin")
    assert (await console.client.get("/api/v1/workflows")).status_code == 401
    schema = (await console.client.get("/schema/openapi.json")).json()
    assert not [path for path in schema["paths"] if path.startswith("/console")]
