"""A network attempt's start is committed without waiting for the disk; its result is not.

If a crash loses the start, the next claimer runs the body again under the same
idempotency key, which the receiving service deduplicates: the attempt is not counted
twice and nothing else is lost.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import TracebackType
from typing import Any

from dependency_injector import providers

from domain.status import NodeStatus
from tests.application.conftest import Gate, Harness, chain, document, node, scripted

LEASE_SECONDS = 30
LEASE = timedelta(seconds=LEASE_SECONDS)


def transform_node(node_id: str) -> dict[str, Any]:
    return node(node_id, "transform", config={"output": {"node": node_id}})


class LosingLazyCommits:
    """Units of work that note whether each commit waited for the disk, and (while
    `losing`) drop the commits that did not, as a crash before the flush would."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.lazy: list[bool] = []
        self.losing = True

    def __call__(self) -> _Recorded:
        return _Recorded(self._inner(), self)


class _Recorded:
    def __init__(self, inner: Any, owner: LosingLazyCommits) -> None:
        self._inner = inner
        self._owner = owner
        self._lazy = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> _Recorded:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(kind, exc, tb)

    def commit_without_waiting_for_disk(self) -> None:
        self._lazy = True
        self._inner.commit_without_waiting_for_disk()

    async def commit(self) -> None:
        self._owner.lazy.append(self._lazy)
        if self._lazy and self._owner.losing:
            return  # the record never reached the disk: leaving rolls it back
        await self._inner.commit()


def losing(harness: Harness) -> LosingLazyCommits:
    factory = LosingLazyCommits(harness.adapters.uow_factory())
    harness.engine.commit_uow_factory.override(providers.Object(factory))
    return factory


async def test_a_start_lost_in_a_crash_is_run_again_under_the_same_key(harness: Harness) -> None:
    commits = losing(harness)
    gate = Gate()
    harness.executor.on("call", 1, gate)
    doc = document([scripted("call"), transform_node("after")], chain("call", "after"))
    execution_id = await harness.start(await harness.create(doc))
    (lease,) = await harness.queue.claim("w1", 1, LEASE)
    first_worker = asyncio.create_task(harness.engine.runner().advance(lease))
    await asyncio.wait_for(gate.entered.wait(), 5)

    first_worker.cancel()  # the worker dies with the body in flight and its start unflushed
    await asyncio.gather(first_worker, return_exceptions=True)
    assert commits.lazy == [True]
    assert harness.node(execution_id, "call").status is NodeStatus.PENDING  # the start is lost

    commits.losing = False
    del harness.executor.script[("call", 1)]
    harness.clock.advance(LEASE_SECONDS + 1)
    await harness.drain("w2")

    assert harness.status(execution_id) == "completed"
    calls = [call for call in harness.executor.calls if call.node_id == "call"]
    assert [call.attempt for call in calls] == [1, 1]
    assert calls[0].idempotency_key == calls[1].idempotency_key
    assert harness.node(execution_id, "call").attempt == 1
    assert commits.lazy[1] is True and commits.lazy[-1] is False  # the result waits for disk


async def test_a_batch_that_records_a_result_waits_for_the_disk(harness: Harness) -> None:
    commits = losing(harness)
    commits.losing = False
    doc = document([transform_node("first"), scripted("call")], chain("first", "call"))
    execution_id = await harness.run(doc)

    assert harness.status(execution_id) == "completed"
    # The first step finished an inline node before starting the call: it is durable.
    assert commits.lazy and not any(commits.lazy)
