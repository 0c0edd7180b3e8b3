"""Stopping workers: SIGTERM drains or hands work back at once, a second signal exits
now, and SIGKILL loses nothing because another worker resumes after the lease expires."""

from __future__ import annotations

import re
import shlex
import signal
import time
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.integration.worker.harness import Harness, eventually
from tests.integration.worker.servers import WorkerTestServer

pytestmark = [pytest.mark.e2e]

SHORT_LEASE = {"TREADLE_LEASE_SECONDS": "2", "TREADLE_HEARTBEAT_SECONDS": "0.5"}


def call_then_finish(timeout: float | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {
        "id": "call",
        "kind": "http_request",
        "config": {"url": "{{ input.url }}"},
    }
    if timeout is not None:
        call["timeout"] = timeout
    finish = {
        "id": "finish",
        "kind": "transform",
        "config": {"output": "{{ nodes.call.output.body }}"},
    }
    return {"nodes": [call, finish], "edges": [{"from": "call", "to": "finish"}]}


def log_fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(line) if "=" in part)


async def test_sigterm_lets_an_in_flight_node_finish_within_the_grace_period(
    harness: Harness, server: WorkerTestServer
) -> None:
    # The node outlasts the lease: the worker must keep heartbeating while it drains.
    (worker,) = await harness.start_workers(TREADLE_GRACE_SECONDS="10", **SHORT_LEASE)
    url = f"{server.url}/slow?seconds=3"
    execution_id = await harness.run(call_then_finish(timeout=10), {"url": url})
    await eventually(lambda: server.calls_to("/slow"), "the slow request to arrive")

    worker.send(signal.SIGTERM)

    assert await worker.exited() == 0
    done = harness.execution(execution_id)
    assert done["status"] == "completed", harness.events(execution_id)
    assert harness.node_runs(execution_id)["call"]["attempt"] == 1
    assert harness.events(execution_id, "node_interrupted") == []
    assert len(server.calls_to("/slow")) == 1
    assert len(worker.lines_with("worker stopping")) == 1
    assert len(worker.lines_with("worker stopped")) == 1


async def test_sigterm_hands_a_node_longer_than_the_grace_back_for_another_worker_at_once(
    harness: Harness, server: WorkerTestServer
) -> None:
    lease = 60.0
    long_lease = {"TREADLE_LEASE_SECONDS": str(lease), "TREADLE_GRACE_SECONDS": "1"}
    (first,) = await harness.start_workers(**long_lease)
    url = f"{server.url}/slow-once/g?seconds=60"
    execution_id = await harness.run(call_then_finish(), {"url": url})
    await eventually(lambda: server.calls_to("/slow-once/g"), "the slow request to arrive")

    first.send(signal.SIGTERM)
    stopped_at = time.monotonic()
    assert await first.exited() == 0
    handed_back = harness.execution(execution_id)
    assert (handed_back["status"], handed_back["lease_owner"]) == ("running", None)
    await harness.start_workers(**long_lease)
    done = await harness.status_becomes(execution_id)

    assert time.monotonic() - stopped_at < lease / 4, "resumed only after the lease expired"
    assert done["status"] == "completed"
    interrupted = harness.events(execution_id, "node_interrupted")
    assert [(event["node_id"], event["payload"]["reason"]) for event in interrupted] == [
        ("call", "worker_lost")
    ]
    assert harness.node_runs(execution_id)["finish"]["output"] == {"call": 2}
    keys = {request.headers.get("idempotency-key") for request in server.calls_to("/slow-once/g")}
    assert len(keys) == 1


async def test_a_second_signal_exits_at_once(harness: Harness, server: WorkerTestServer) -> None:
    (worker,) = await harness.start_workers(TREADLE_GRACE_SECONDS="60")
    await harness.run(call_then_finish(), {"url": f"{server.url}/slow?seconds=60"})
    await eventually(lambda: server.calls_to("/slow"), "the slow request to arrive")

    worker.send(signal.SIGTERM)
    await eventually(lambda: worker.lines_with("worker stopping"), "the worker to start draining")
    worker.send(signal.SIGINT)

    assert await worker.exited(deadline=5) != 0
    assert len(worker.lines_with("worker exiting now")) == 1


def with_password(url: str, password: str) -> str:
    """`url` carrying a password (ignored by a trust-auth server) unless it has one already."""
    parsed = make_url(url)
    if parsed.password:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


async def test_sigkill_mid_node_is_recovered_by_a_second_worker(
    harness: Harness, server: WorkerTestServer
) -> None:
    url = with_password(harness.database_url, "pw-never-logged-7f3a")
    password = str(make_url(url).password)
    env = {"DATABASE_URL": url, "TREADLE_WORKER_CONCURRENCY": "3", **SHORT_LEASE}
    (first,) = await harness.start_workers(**env)
    execution_id = await harness.run(
        call_then_finish(), {"url": f"{server.url}/slow-once/k?seconds=60"}
    )
    await eventually(lambda: server.calls_to("/slow-once/k"), "the slow request to arrive")

    first.send(signal.SIGKILL)
    assert await first.exited() == -signal.SIGKILL
    await harness.start_workers(**env)
    done = await harness.status_becomes(execution_id)

    assert done["status"] == "completed"
    interrupted = harness.events(execution_id, "node_interrupted")
    assert [event["node_id"] for event in interrupted] == ["call"]
    call = harness.node_runs(execution_id)["call"]
    assert (call["status"], call["attempt"]) == ("succeeded", 1)
    assert harness.node_runs(execution_id)["finish"]["output"] == {"call": 2}
    assert len(harness.events(execution_id, "node_succeeded", "node_failed")) == 2

    started = first.lines_with("worker started")[0]
    fields = log_fields(started)
    assert re.fullmatch(rf".+-{first.process.pid}-[0-9a-f]{{6}}", fields["worker_id"])
    assert fields["concurrency"] == "3"
    database = make_url(url)
    assert str(database.database) in fields["database"]
    if database.host:
        assert database.host in fields["database"]
    assert password not in started and "@" not in fields["database"]
