"""`treadle node-kinds` on the database (whose process has the example package) and over
the API."""

from __future__ import annotations

import asyncio

from tests.cli.conftest import Cli
from tests.cli.test_remote import remote_cli
from tests.client.conftest import Served


def test_node_kinds_on_the_database_lists_built_in_then_installed(cli: Cli) -> None:
    result = cli("node-kinds")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    http = next(i for i, line in enumerate(lines) if "http_request" in line)
    slug = next(i for i, line in enumerate(lines) if "text.slugify" in line)
    assert http < slug
    assert "built in" in lines[http] and "treadle-example-nodes" in lines[slug]


async def test_node_kinds_over_the_api(served: Served) -> None:
    result = await asyncio.to_thread(remote_cli(served).invoke, "node-kinds")

    assert result.exit_code == 0, result.output
    assert "crm.lookup_customer" in result.stdout and "Look up a customer" in result.stdout
