"""Prometheus metrics of a worker, and the decorators that feed them."""

from __future__ import annotations

import time
from datetime import timedelta

from prometheus_client import Counter, Gauge, Histogram

from application.delegating_queue import DelegatingQueue
from application.engine.runner import Advanced
from application.nodes.builtin import ExecutorMap, inline_decider
from application.ports.executors import NodeCall, NodeExecutor, NodeResult
from application.records import Lease
from application.retention import PassReport

CLAIMED = Counter("treadle_executions_claimed_total", "Executions claimed by this worker")
FINISHED = Counter(
    "treadle_executions_finished_total", "Executions this worker finished", ["status"]
)
NODE_SECONDS = Histogram(
    "treadle_node_duration_seconds", "Node attempt duration", ["kind", "outcome"]
)
CLAIM_SECONDS = Histogram("treadle_claim_duration_seconds", "Time to claim a batch")
IN_FLIGHT = Gauge("treadle_executions_in_flight", "Executions this worker is advancing")
RETENTION_DELETED = Counter(
    "treadle_retention_deleted_total",
    "Rows the retention passes of this worker deleted, by kind (an execution status, or audit)",
    ["kind"],
)
RETENTION_LAST_PASS = Gauge(
    "treadle_retention_last_pass_timestamp_seconds",
    "When this worker last completed a retention pass (Unix time)",
)
RETENTION_LONGEST_BATCH = Gauge(
    "treadle_retention_longest_batch_seconds",
    "The longest single pruning transaction of this worker's last retention pass",
)


def record_retention_pass(report: PassReport, finished_at: float) -> None:
    """Count what a retention pass deleted and note when it ended."""
    for kind, count in report.deleted.items():
        RETENTION_DELETED.labels(kind).inc(count)
    RETENTION_LAST_PASS.set(finished_at)
    RETENTION_LONGEST_BATCH.set(report.longest_batch_seconds)


def record_advanced(result: Advanced) -> None:
    if result.status in ("completed", "failed", "cancelled", "timed_out"):
        FINISHED.labels(result.status).inc()


class TimedExecutor:
    def __init__(self, inner: NodeExecutor, kind: str) -> None:
        self._inner = inner
        self._kind = str(kind)

    async def run(self, call: NodeCall) -> NodeResult:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self._inner.run(call)
            outcome = type(result).__name__.lower()
            return result
        finally:
            NODE_SECONDS.labels(self._kind, outcome).observe(time.perf_counter() - started)


def timed_executors(executors: ExecutorMap) -> ExecutorMap:
    """Network bodies timed; inline kinds are decided inside the step and stay as they are."""
    return ExecutorMap({kind: _timed(executors.get(kind), kind) for kind in executors.kinds()})


def _timed(executor: NodeExecutor, kind: str) -> NodeExecutor:
    return executor if inline_decider(executor) else TimedExecutor(executor, kind)


class TimedQueue(DelegatingQueue):
    """A WorkQueue that counts claims and times them."""

    async def claim(self, worker_id: str, limit: int, lease_for: timedelta) -> list[Lease]:
        with CLAIM_SECONDS.time():
            leases = await self._inner.claim(worker_id, limit, lease_for)
        CLAIMED.inc(len(leases))
        return leases
