"""An execution's children over HTTP: the `item_index` of a `for_each` item, and the
`parent_execution_id` filter of the executions listing."""

from __future__ import annotations

from typing import Any

from application.queries.pagination import encode_cursor
from tests.api.conftest import Api
from tests.api.workflows import create, run

DOUBLE: dict[str, Any] = {
    "nodes": [{"id": "double", "kind": "transform", "config": {"output": "{{ input.n * 2 }}"}}]
}
FAN_OUT: dict[str, Any] = {
    "nodes": [
        {
            "id": "each",
            "kind": "for_each",
            "config": {
                "items": "{{ range(input.count) | list }}",
                "workflow": "double",
                "input": {"n": "{{ item }}"},
                "parallelism": 2,
            },
        },
        {"id": "once", "kind": "sub_workflow", "config": {"workflow": "double", "input": {"n": 7}}},
    ],
    "edges": [],
}


async def fanned_out(api: Api, count: int) -> str:
    await create(api, DOUBLE, name="double")
    execution_id = await run(api, await create(api, FAN_OUT, name="fan"), {"count": count})
    await api.drain()
    return execution_id


async def list_children(api: Api, parent: str, query: str = "", who: str = "a_admin") -> Any:
    path = f"/api/v1/executions?parent_execution_id={parent}{query}"
    return await api.request("GET", path, who)


async def test_the_children_are_listed_by_node_then_item_index_page_by_page(api: Api) -> None:
    parent = await fanned_out(api, 5)
    seen: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(10):
        response = await list_children(api, parent, f"&limit=2{cursor}", who="a_viewer")
        assert response.status_code == 200, response.text
        seen += response.json()["items"]
        if response.json()["next_cursor"] is None:
            break
        cursor = f"&cursor={response.json()['next_cursor']}"
    assert [(c["parent_node_id"], c["item_index"]) for c in seen] == [
        *[("each", index) for index in range(5)],
        ("once", None),
    ]
    assert {c["parent_execution_id"] for c in seen} == {parent}
    assert [c["output"] for c in seen] == [{"double": n * 2} for n in (0, 1, 2, 3, 4, 7)]
    detail = (await api.request("GET", f"/api/v1/executions/{seen[3]['id']}")).json()
    assert (detail["parent_node_id"], detail["item_index"]) == ("each", 3)


async def test_a_top_level_execution_has_no_item_index_and_the_listing_keeps_all(
    api: Api,
) -> None:
    parent = await fanned_out(api, 2)
    detail = (await api.request("GET", f"/api/v1/executions/{parent}")).json()
    assert detail["status"] == "completed"
    assert (detail["parent_execution_id"], detail["item_index"]) == (None, None)
    everything = (await api.request("GET", "/api/v1/executions")).json()["items"]
    assert len(everything) == 4  # the parent, two items and the sub-workflow


async def test_the_children_filter_combines_with_status_and_knows_no_other_parent(
    api: Api,
) -> None:
    parent = await fanned_out(api, 3)
    failed = await list_children(api, parent, "&status=failed")
    assert failed.json() == {"items": [], "next_cursor": None}
    missing = await list_children(api, "ex_missing")
    assert missing.status_code == 404
    assert (await list_children(api, parent, who="b_admin")).status_code == 404
    newest_first_cursor = (await api.request("GET", "/api/v1/executions?limit=1")).json()
    mixed = await list_children(api, parent, f"&cursor={newest_first_cursor['next_cursor']}")
    assert mixed.status_code == 400
    position = {"n": "each", "i": 0, "t": "2030-01-01T00:00:00", "id": "ex_1"}  # no zone
    naive = await list_children(api, parent, f"&cursor={encode_cursor('children', position)}")
    assert naive.status_code == 400
