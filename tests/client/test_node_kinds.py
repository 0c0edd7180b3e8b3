"""The client lists the node kinds, with the config schema of the installed ones."""

from __future__ import annotations

from tests.client.conftest import Served
from treadle_client import AsyncClient


async def test_the_client_lists_built_in_and_installed_kinds(served: Served) -> None:
    async with AsyncClient(served.url, served.token("a_viewer")) as client:
        kinds = await client.list_node_kinds()

    by_name = {kind.kind: kind for kind in kinds}
    http = by_name["http_request"]
    assert (
        http.builtin
        and http.config_schema is not None
        and http.config_schema["required"] == ["url"]
    )
    slug = by_name["text.slugify"]
    assert not slug.builtin and slug.last_seen_at is not None
    assert slug.config_schema is not None and "text" in slug.config_schema["properties"]
