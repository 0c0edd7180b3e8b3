# mypy: ignore-errors
"""One peer's side of `python -m bench.peers`, run in the peers' own virtual environment.

    driver.py <peer> setup    <url>
    driver.py <peer> enqueue  <url> --count N --clients K [--length L]
    driver.py <peer> worker   <url> --stamps FILE --index I
    driver.py <peer> pickup   <url> --count N --stamps FILE

`peer` is pgqueuer, procrastinate or dbos. Every job (or DBOS step) body appends
`<key> <time.time()>` to the stamps file the moment it starts, then returns; a job with
`remaining > 0` enqueues the next job of its chain (a job queue keeps no step history, so a
chain of 40 durable steps is 40 jobs, each enqueued by the one before). A DBOS chain is one
workflow of `length` `@DBOS.step`s, each checkpointed before the next starts. `enqueue` and
`pickup` print one JSON line on stdout for the orchestrator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid

QUEUE = "bench"
WORKER_CONCURRENCY = 50  # the same as the Treadle workers' TREADLE_WORKER_CONCURRENCY here
STAMPS = None


def stamp(key: str) -> None:
    if STAMPS is not None:
        STAMPS.write(f"{key} {time.time():.6f}\n")
        STAMPS.flush()


def read_stamps(path: str) -> dict[str, float]:
    stamps: dict[str, float] = {}
    if os.path.exists(path):
        with open(path) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 2:
                    stamps[parts[0]] = float(parts[1])
    return stamps


async def enqueue_many(enqueue_one, count: int, clients: int, length: int) -> dict:
    remaining = iter(range(count))

    async def client(index: int) -> None:
        for number in remaining:
            await enqueue_one(index, f"job-{number}", length - 1)

    first = time.time()
    await asyncio.gather(*(client(index) for index in range(clients)))
    return {"first": first, "last": time.time()}


async def pickup(enqueue_one, count: int, path: str) -> dict:
    latencies = []
    for number in range(count + 5):
        key = f"pick-{number}-{uuid.uuid4().hex[:8]}"
        await enqueue_one(0, key, 0)
        committed = time.time()
        deadline = committed + 30
        while key not in (stamps := read_stamps(path)):
            if time.time() > deadline:
                raise TimeoutError(f"{key} was not picked up in 30 s")
            await asyncio.sleep(0.001)
        if number >= 5:  # the first few warm the worker up
            latencies.append(1000 * (stamps[key] - committed))
        await asyncio.sleep(0.01)  # let the worker go idle again
    return {"latencies": latencies}


# --- pgqueuer (asyncpg, its documented driver): a job queue; a finished job's row is
# deleted and a log row written, batched by the worker (up to 10 or 0.1 s) -----------------


async def pgqueuer_main(args) -> dict | None:
    import asyncpg
    from pgqueuer import PgQueuer
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    async def connect():
        return await asyncpg.connect(args.url)

    if args.command == "setup":
        conn = await connect()
        await Queries(AsyncpgDriver(conn)).install()
        await conn.close()
        return None
    if args.command == "worker":
        conn = await connect()
        driver = AsyncpgDriver(conn)
        queries = Queries(driver)
        pgq = PgQueuer(driver)

        @pgq.entrypoint("step")
        async def step(job) -> None:
            payload = json.loads(job.payload)
            stamp(payload["key"])
            if payload["remaining"] > 0:
                body = {"key": payload["key"], "remaining": payload["remaining"] - 1}
                await queries.enqueue("step", json.dumps(body).encode())

        await pgq.run(batch_size=10)
        return None

    connections = [await connect() for _ in range(max(1, args.clients))]
    queries = [Queries(AsyncpgDriver(conn)) for conn in connections]

    async def enqueue_one(client: int, key: str, remaining: int) -> None:
        body = json.dumps({"key": key, "remaining": remaining}).encode()
        await queries[client].enqueue("step", body)

    return await run_client(args, enqueue_one)


# --- procrastinate: a job queue; a job row is kept with its status and events --------------


def procrastinate_app(url: str):
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="step", queue=QUEUE)
    async def step(key: str, remaining: int) -> None:
        stamp(key)
        if remaining > 0:
            await step.defer_async(key=key, remaining=remaining - 1)

    return app, step


async def procrastinate_main(args) -> dict | None:
    app, step = procrastinate_app(args.url)
    async with app.open_async():
        if args.command == "setup":
            await app.schema_manager.apply_schema_async()
            return None
        if args.command == "worker":
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=10,
                wait=True,
                listen_notify=True,
                install_signal_handlers=True,
            )
            return None

        async def enqueue_one(client: int, key: str, remaining: int) -> None:
            await step.defer_async(key=key, remaining=remaining)

        return await run_client(args, enqueue_one)


# --- DBOS: durable workflows; each step's outcome is checkpointed in the system database ----


def dbos_launch(url: str, executor: str):
    from dbos import DBOS

    config = {
        "name": "treadlebench",
        "system_database_url": url,
        "executor_id": executor,
        "log_level": "WARNING",
        "run_admin_server": False,
    }
    DBOS(config=config)

    @DBOS.step()
    def body(key: str, index: int) -> None:
        stamp(key if index == 0 else f"{key}/{index}")

    @DBOS.workflow(name="chain")
    def chain(key: str, length: int) -> None:
        for index in range(length):
            body(key, index)

    DBOS.launch()
    DBOS.register_queue(QUEUE, worker_concurrency=WORKER_CONCURRENCY, polling_interval_sec=0.01)
    return DBOS


def dbos_process(args) -> None:
    """setup and worker: DBOS launches outside an event loop (it runs its own threads)."""
    dbos = dbos_launch(args.url, f"bench-{args.command}-{args.index}")
    if args.command == "setup":
        dbos.destroy()
        return
    while True:
        time.sleep(3600)


async def dbos_main(args) -> dict | None:
    from dbos import DBOSClient

    client = DBOSClient(system_database_url=args.url, application_name="treadlebench")
    options = {"workflow_name": "chain", "queue_name": QUEUE}

    async def enqueue_one(_client: int, key: str, remaining: int) -> None:
        await asyncio.to_thread(client.enqueue, options, key, remaining + 1)

    try:
        return await run_client(args, enqueue_one)
    finally:
        client.destroy()


async def run_client(args, enqueue_one) -> dict:
    if args.command == "enqueue":
        return await enqueue_many(enqueue_one, args.count, args.clients, args.length)
    return await pickup(enqueue_one, args.count, args.stamps)


MAINS = {"pgqueuer": pgqueuer_main, "procrastinate": procrastinate_main, "dbos": dbos_main}


def main() -> None:
    global STAMPS
    parser = argparse.ArgumentParser()
    parser.add_argument("peer", choices=sorted(MAINS))
    parser.add_argument("command", choices=["setup", "enqueue", "worker", "pickup"])
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--length", type=int, default=1)
    parser.add_argument("--stamps", default="")
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args()
    if args.command == "worker" and args.stamps:
        STAMPS = open(args.stamps, "a")  # noqa: SIM115 (process lifetime)
    if args.peer == "dbos" and args.command in ("setup", "worker"):
        dbos_process(args)
        return
    result = asyncio.run(MAINS[args.peer](args))
    if result is not None:
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
