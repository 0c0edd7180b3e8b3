"""The node kinds a workflow can use: the built-in ones and those installed packages add."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from application.access import Principal
from application.node_kinds import NodeKindCatalogue
from entrypoints.api.schemas.node_kinds import NodeKindOut


class NodeKindController(Controller):
    path = "/node-kinds"
    tags = ["node kinds"]

    @get("/")
    async def list_node_kinds(
        self, principal: NamedDependency[Principal], node_kinds: NamedDependency[NodeKindCatalogue]
    ) -> list[NodeKindOut]:
        """Every kind, built-in ones first: title, description, the JSON Schema of its config
        (the console's form), an example config, and when a worker that has it was last seen."""
        del principal  # any role may read the catalogue
        return [NodeKindOut.of(listing) for listing in await node_kinds.listing()]
