"""Kill -9: workers SIGKILLed at random while 500 five-node executions run.

Afterwards every execution completed with the right outputs, each HTTP node was requested
once plus at most once per kill that interrupted its attempt, and every history is whole.
The leases are long (30 s): the executions a killed worker held are resumed as soon as the
others see its membership lock go. The time from each SIGKILL to the claim of each of its
executions is measured and its p50/p99 printed.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import statistics
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.postgres.urls import libpq_conninfo
from adapters.postgres.wake_routing import MEMBERS, MEMBERSHIP_CLASS
from application.ids import node_idempotency_key
from tests.chaos.support import (
    FAST_LEASES,
    assert_histories_whole,
    count_completed,
    new_workflow,
    rows,
    runtime_on,
    spawn,
    start_runs,
)
from tests.support.api_stack import stop, wait_until
from tests.support.fake_servers import Answer, BackgroundServer, RecordedRequest, json_answer

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

EXECUTIONS = 500
WORKERS = 4
KILL_EVERY = 0.5
KILLING_FOR = 20.0
DEADLINE = 150.0
LONG_LEASES = {"TREADLE_LEASE_SECONDS": "30", "TREADLE_HEARTBEAT_SECONDS": "10"}
# The aim is p50 <= 1 s and p99 <= 2 s; the bounds asserted leave room for a loaded machine
# while staying far below the lease, which is what recovery took before.
# Speed is for the printed figures; what must hold is that recovery came from the dead
# member's lock going away, not from its 30 s lease running out.
WELL_BEFORE_THE_LEASE = 15.0


class RecoveryTimer:
    """Times, for each execution a killed worker held, the SIGKILL to its next claim (its
    lease token moving on), polling the rows from a thread of its own."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._held: dict[str, tuple[int, float]] = {}  # id -> (token at the kill, killed at)
        self.seconds: list[float] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> RecoveryTimer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join(10)

    def killed(self, pid: int, at: float) -> None:
        """Worker `pid` was killed at `at` (monotonic): time the executions it still held."""
        held = rows(
            self._url,
            """SELECT id, lease_token FROM executions
               WHERE lease_owner LIKE %s AND lease_expires_at > clock_timestamp()""",
            (f"%-{pid}-%",),
        )
        with self._lock:
            for execution_id, token in held:
                self._held[execution_id] = (int(token), at)

    @property
    def unrecovered(self) -> int:
        with self._lock:
            return len(self._held)

    def _watch(self) -> None:
        with psycopg.connect(libpq_conninfo(self._url), autocommit=True) as connection:
            while not self._stopping.wait(0.02):
                with self._lock:
                    watched = dict(self._held)
                if not watched:
                    continue
                found = connection.execute(
                    "SELECT id, lease_token FROM executions WHERE id = ANY(%s)", (list(watched),)
                ).fetchall()
                now = time.monotonic()
                with self._lock:
                    for execution_id, token in found:
                        before, killed_at = watched[execution_id]
                        if token > before and execution_id in self._held:
                            del self._held[execution_id]
                            self.seconds.append(now - killed_at)


class EchoServer(BackgroundServer):
    """Answers every request with its JSON body after a pause (so the run outlasts several kills
    and kills land mid-call)."""

    def answer(self, request: RecordedRequest) -> Answer:
        self.stopping.wait(0.2)
        try:
            return json_answer(200, request.json())
        except ValueError:  # cut short by a killed sender: nobody reads the answer
            return json_answer(400, {"error": "incomplete body"})

    def per_key(self) -> Counter[str]:
        """Requests received per Idempotency-Key, complete or cut short by a kill."""
        return Counter(r.headers.get("idempotency-key", "") for r in list(self.requests))


def five_nodes(url: str) -> dict[str, Any]:
    def call(node: str, value: str) -> dict[str, Any]:
        body = {"value": value, "execution": "{{ execution.id }}", "node": node}
        config = {"method": "POST", "url": f"{url}/echo", "json": body}
        return {"id": node, "kind": "http_request", "config": config, "timeout": 10}

    return {
        "nodes": [
            {"id": "prepare", "kind": "transform", "config": {"output": {"x": "{{ input.x }}"}}},
            call("first_call", "{{ nodes.prepare.output.x }}"),
            {
                "id": "middle",
                "kind": "transform",
                "config": {"output": {"y": "{{ nodes.first_call.output.body.value }}"}},
            },
            call("second_call", "{{ nodes.middle.output.y }}"),
            {
                "id": "finish",
                "kind": "transform",
                "config": {
                    "output": {
                        "x": "{{ input.x }}",
                        "echoed": "{{ nodes.second_call.output.body.value }}",
                    }
                },
            },
        ],
        "edges": [
            {"from": "prepare", "to": "first_call"},
            {"from": "first_call", "to": "middle"},
            {"from": "middle", "to": "second_call"},
            {"from": "second_call", "to": "finish"},
        ],
    }


def test_sigkilled_workers_lose_nothing_and_repeat_only_interrupted_calls(
    chaos_database: str, tmp_path: Path
) -> None:
    url = chaos_database
    env = {**FAST_LEASES, **LONG_LEASES, "TREADLE_HTTP_ALLOWED_HOSTS": "127.0.0.1"}
    with EchoServer() as server, RecoveryTimer(url) as recoveries:
        ids = asyncio.run(_start(url, five_nodes(server.url)))
        workers = [
            spawn("entrypoints.worker", url, tmp_path / f"w{i}.log", **env) for i in range(WORKERS)
        ]
        try:
            kills = _kill_at_random(workers, url, ids, tmp_path, env, recoveries)
            wait_until(lambda: count_completed(url, ids) == EXECUTIONS, "all executions", DEADLINE)
        finally:
            for worker in workers:
                stop(worker)
        per_key = server.per_key()
    assert kills > 0
    _assert_recovered_quickly(recoveries)
    _assert_outputs(url, ids)
    _assert_calls_match_interruptions(url, ids, per_key)
    assert_histories_whole(url, ids)


async def _start(url: str, definition: dict[str, Any]) -> list[str]:
    async with runtime_on(url) as runtime:
        workspace_id, workflow_id = await new_workflow(runtime, definition)
        return await start_runs(
            runtime, workspace_id, workflow_id, [{"x": i} for i in range(EXECUTIONS)]
        )


def _kill_at_random(
    workers: list[subprocess.Popen[bytes]],
    url: str,
    ids: list[str],
    logs: Path,
    env: dict[str, str],
    recoveries: RecoveryTimer,
) -> int:
    """SIGKILL a random busy worker every KILL_EVERY seconds and start a new one in its place.

    Each kill waits until every worker is up (holds its membership): what is timed is how
    soon the others take over, not how long a Python process takes to start."""
    chooser = random.Random(8)
    kills = 0
    end = time.monotonic() + KILLING_FOR
    while time.monotonic() < end and count_completed(url, ids) < EXECUTIONS:
        time.sleep(KILL_EVERY)  # the rhythm of the chaos, not a wait for state
        wait_until(lambda: members(url) == len(workers), "every worker to be up", 60)
        busy = _holding_leases(workers, url)
        if not busy:  # nothing in flight right now: a kill would test nothing
            continue
        index = chooser.choice(busy)
        killed_at = time.monotonic()
        workers[index].send_signal(signal.SIGKILL)
        workers[index].wait(10)
        recoveries.killed(workers[index].pid, killed_at)
        kills += 1
        workers[index] = spawn("entrypoints.worker", url, logs / f"w{index}.log", **env)
    return kills


def _holding_leases(workers: list[subprocess.Popen[bytes]], url: str) -> list[int]:
    """The indexes of the workers that hold at least one execution's lease."""
    owners = rows(
        url,
        "SELECT DISTINCT lease_owner FROM executions"
        " WHERE lease_owner IS NOT NULL AND lease_expires_at > clock_timestamp()",
    )
    return [
        index
        for index, worker in enumerate(workers)
        if any(f"-{worker.pid}-" in str(owner) for (owner,) in owners)
    ]


def members(url: str) -> int:
    """How many worker processes hold their membership lock (are up and listening)."""
    found = rows(url, f"SELECT count(*) FROM ({MEMBERS}) AS members", {"class": MEMBERSHIP_CLASS})
    return int(found[0][0])


def _assert_recovered_quickly(recoveries: RecoveryTimer) -> None:
    seconds = sorted(recoveries.seconds)
    assert seconds, "no kill left an execution behind to recover"
    assert recoveries.unrecovered == 0
    p50 = statistics.median(seconds)
    p99 = seconds[min(len(seconds) - 1, round(0.99 * (len(seconds) - 1)))]
    print(
        f"\nrecovery after SIGKILL: {len(seconds)} executions, p50 {p50:.2f} s,"
        f" p99 {p99:.2f} s, max {seconds[-1]:.2f} s (aim: p50 <= 1 s, p99 <= 2 s)"
    )
    assert seconds[-1] < WELL_BEFORE_THE_LEASE, [round(s, 2) for s in seconds]


def _assert_outputs(url: str, ids: list[str]) -> None:
    found = rows(
        url,
        """SELECT e.input, r.output FROM executions e JOIN node_runs r ON r.execution_id = e.id
           WHERE e.id = ANY(%s) AND r.node_id = 'finish'""",
        (ids,),
    )
    assert len(found) == EXECUTIONS
    wrong = [(i, o) for i, o in found if o != {"x": i["x"], "echoed": i["x"]}]
    assert wrong == [], wrong[:5]


def _assert_calls_match_interruptions(
    url: str,
    ids: list[str],
    per_key: Counter[str],
) -> None:
    interrupted = Counter(
        {
            (execution_id, node_id): int(n)
            for execution_id, node_id, n in rows(
                url,
                """SELECT execution_id, node_id, count(*) FROM events
                   WHERE execution_id = ANY(%s) AND type = 'node_interrupted'
                   GROUP BY execution_id, node_id""",
                (ids,),
            )
        }
    )
    calls = {
        (execution_id, node): per_key[node_idempotency_key(execution_id, node)]
        for execution_id in ids
        for node in ("first_call", "second_call")
    }
    # Exactly 1 + kills-that-interrupted-the-attempt, except that a kill landing after the
    # attempt was recorded but before its request left adds an interruption and no request.
    problems = [
        (call, sent, interrupted[call])
        for call, sent in calls.items()
        if not 1 <= sent <= 1 + interrupted[call]
    ]
    assert problems == [], json.dumps(problems[:5], default=str)
    assert sum(interrupted.values()) > 0, "no kill landed on a running attempt"
    assert sum(per_key.values()) == sum(calls.values()), "requests with an unknown key"
