"""`treadle worker`: a standalone process that claims executions from Postgres and runs them.

SIGTERM or SIGINT: stop claiming, let in-flight executions finish up to the grace
period, then give their leases back so another worker resumes them at once. A second
signal exits at once. SIGKILL loses nothing: the other workers see its membership lock go
and resume its executions within about a second. Started while the database is away, the
worker waits for it, backing off, with one log line per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from prometheus_client import start_http_server

from application.engine.runner import Advanced, Ending
from application.errors import StorageError
from application.node_kinds import register_kinds
from application.nodes.builtin import ExecutorMap
from application.retention import RetentionPass
from application.worker_loop import WorkerLoop, WorkerSettings
from domain.events import EventType
from entrypoints.bootstrap import WORKER_CHANNELS, bootstrap, executors_for
from entrypoints.event_loop import run_loop
from entrypoints.logs import configure_logging, log
from entrypoints.runtime import Runtime
from entrypoints.settings import Settings, database_host
from entrypoints.worker.metrics import (
    IN_FLIGHT,
    TimedQueue,
    record_advanced,
    record_retention_pass,
    timed_executors,
)

logger = logging.getLogger("treadle.worker")


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def build_loop(runtime: Runtime, settings: Settings, worker_id: str) -> WorkerLoop:
    engine = runtime.engine
    worker_settings = WorkerSettings(
        worker_id=worker_id,
        concurrency=settings.worker_concurrency,
        lease_for=timedelta(seconds=settings.lease_seconds),
        heartbeat_every=settings.heartbeat_seconds,
        poll_interval=settings.poll_interval,
    )

    def on_advanced(result: Advanced) -> None:
        record_advanced(result)
        if result.ending is Ending.LEASE_LOST:
            on_lease_lost(result.execution_id)
            return
        log(
            logger,
            "execution advanced",
            execution_id=result.execution_id,
            ending=result.ending.value,
            status=result.status,
        )

    def on_error(subject: str, error: Exception) -> None:
        """`subject` is an execution id, or "schedules" for the scheduler tick."""
        log(
            logger,
            "worker step failed",
            logging.ERROR,
            subject=subject,
            error=f"{type(error).__name__}: {error}",
        )

    def on_lease_lost(execution_id: str) -> None:
        log(
            logger,
            "lost the lease: another worker holds this execution now, this worker's writes"
            " to it are rejected and its work on it is dropped",
            logging.WARNING,
            execution_id=execution_id,
        )

    loop = WorkerLoop(
        worker_settings,
        TimedQueue(runtime.queue),
        engine.runner(),
        runtime.clock,
        schedules=engine.fire_schedules(),
        on_advanced=on_advanced,
        on_error=on_error,
        on_unavailable=_log_unavailable,
        on_lease_lost=on_lease_lost,
    )

    def on_notification(channel: str, payload: Mapping[str, Any]) -> None:
        if payload.get("type") == EventType.EXECUTION_CANCEL_REQUESTED:
            loop.cancel_requested(str(payload.get("execution_id")))

    runtime.subscribe(on_notification)
    return loop


def _log_unavailable(error: Exception, retry_in: float) -> None:
    log(
        logger,
        "database unavailable, reconnecting",
        logging.WARNING,
        retry_in_seconds=round(retry_in, 2),
        error=str(error),
    )


async def open_when_reachable(
    settings: Settings, executors: ExecutorMap | None = None
) -> Runtime | None:
    """Open the worker's runtime, waiting for the database with backoff while it is away;
    None if asked to stop meanwhile. Node bodies are timed for the metrics."""
    timed = timed_executors(executors or executors_for(settings))
    defaults = WorkerSettings(worker_id="")
    backoff = defaults.reconnect_initial
    stopping = asyncio.Event()
    event_loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        event_loop.add_signal_handler(signum, stopping.set)
    try:
        while True:
            try:
                return await bootstrap(
                    settings, executors=timed, channels=WORKER_CHANNELS, runs_worker=True
                )
            except StorageError as error:
                _log_unavailable(error, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), backoff)
            if stopping.is_set():
                return None
            backoff = min(backoff * 2, defaults.reconnect_max)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            event_loop.remove_signal_handler(signum)


async def run_worker(
    settings: Settings, worker_id: str | None = None, executors: ExecutorMap | None = None
) -> None:
    """Work until signalled; `executors` replace the configured node executors."""
    worker_id = worker_id or new_worker_id()
    url = settings.require_database()
    runtime = await open_when_reachable(settings, executors)
    if runtime is None:
        log(logger, "worker stopped before the database was reachable", worker_id=worker_id)
        return
    loop = build_loop(runtime, settings, worker_id)
    stop_requests = 0

    def on_signal(signum: int) -> None:
        nonlocal stop_requests
        stop_requests += 1
        if stop_requests > 1:
            log(logger, "worker exiting now", signal=signal.Signals(signum).name)
            os._exit(1)
        log(
            logger,
            "worker stopping",
            signal=signal.Signals(signum).name,
            grace_seconds=settings.grace_seconds,
            in_flight=loop.in_flight,
        )
        loop.stop()

    event_loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        event_loop.add_signal_handler(signum, on_signal, signum)
    if settings.worker_metrics_port is not None:
        start_http_server(settings.worker_metrics_port, addr="127.0.0.1")
    log(
        logger,
        "worker started",
        worker_id=worker_id,
        concurrency=settings.worker_concurrency,
        queues=",".join(settings.queue_names) or "all",
        database=database_host(url),
        poll_interval=settings.poll_interval,
    )
    gauge = asyncio.create_task(_track_in_flight(loop))
    registering = asyncio.create_task(_keep_kinds_registered(runtime))
    retention = asyncio.create_task(_apply_retention(runtime, settings.retention_interval_seconds))
    try:
        await loop.run()
        await loop.drain(settings.grace_seconds)
    finally:
        gauge.cancel()
        registering.cancel()
        retention.cancel()
        await runtime.close()
        log(logger, "worker stopped", worker_id=worker_id)


KINDS_REFRESH_SECONDS = 300.0
"""How often a worker says again that it has its installed node kinds (it says so at start)."""


async def _keep_kinds_registered(runtime: Runtime) -> None:
    """Keep the registry's `last_seen_at` of this worker's installed kinds fresh, so the
    catalogue shows which kinds a running worker has."""
    engine = runtime.engine
    executors = engine.executors()
    kinds = [kind for kind in engine.installed_kinds().descriptions() if executors.has(kind.name)]
    while kinds:
        await asyncio.sleep(KINDS_REFRESH_SECONDS)
        try:
            await register_kinds(runtime.uow_factory, kinds, runtime.clock.now())
        except StorageError as error:  # the database is away: the next refresh tries again
            log(logger, "could not register node kinds", logging.WARNING, error=str(error))


async def _apply_retention(runtime: Runtime, interval: float) -> None:
    """Run the retention pass every `interval` seconds (never when 0). Every worker tries;
    the one that takes the maintenance turn prunes and the others skip that round."""
    if interval <= 0:
        return
    retention = RetentionPass(
        runtime.storage.retention_policies, runtime.storage.pruner, runtime.clock
    )
    while True:
        # A random start spreads the workers' attempts instead of all trying at once.
        await asyncio.sleep(interval * random.uniform(0.5, 1.0))
        try:
            report = await retention.run()
        except StorageError as error:  # the database is away: the next round tries again
            log(logger, "retention pass failed", logging.WARNING, error=str(error))
            continue
        except Exception as error:  # a fault in one pass must not end pruning for good
            log(logger, "retention pass failed", logging.ERROR, error=repr(error))
            continue
        if report is None:
            continue
        record_retention_pass(report, time.time())
        if report.deleted:
            log(
                logger,
                "retention pass",
                deleted=sum(report.deleted.values()),
                batches=report.batches,
                longest_batch_ms=round(report.longest_batch_seconds * 1000, 1),
            )


async def _track_in_flight(loop: WorkerLoop) -> None:
    while True:
        IN_FLIGHT.set(loop.in_flight)
        await asyncio.sleep(1.0)


def main(settings: Settings, executors: ExecutorMap | None = None) -> None:
    configure_logging(settings.log_level)
    run_loop(lambda: run_worker(settings, executors=executors))
