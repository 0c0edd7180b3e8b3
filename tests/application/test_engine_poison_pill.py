"""The poison-pill rule: a step that fails the same way N times in a row ends the
execution `failed` with an `engine_error`, instead of it being claimed again forever."""

from __future__ import annotations

from application.engine.poison_pill import DEFAULT_POISON_PILL_AFTER
from application.ports.unit_of_work import StepFailure
from tests.application.conftest import Harness, chain, document, scripted
from tests.application.step_failures import LEASE_SECONDS, breaking, failing_claim, transform


async def test_the_claim_after_n_failed_steps_ends_the_execution_without_the_step(
    harness: Harness,
) -> None:
    broken = breaking(harness, failures=100)
    execution_id = await harness.start(
        await harness.create(document([transform("bad"), scripted("after")], chain("bad", "after")))
    )
    for _ in range(DEFAULT_POISON_PILL_AFTER):
        await failing_claim(harness)
    assert harness.status(execution_id) == "pending"  # no step ever committed

    assert await harness.drain() == 1

    assert broken.calls["bad"] == DEFAULT_POISON_PILL_AFTER
    execution = harness.execution(execution_id)
    assert execution.status.value == "failed"
    assert execution.error is not None
    assert execution.error["kind"] == "engine_error"
    assert f"failed {DEFAULT_POISON_PILL_AFTER} times in a row" in execution.error["message"]
    assert "RuntimeError: step bug #5 in bad" in execution.error["message"]
    assert harness.node_statuses(execution_id) == {"bad": "cancelled", "after": "cancelled"}
    assert harness.types(execution_id)[-1] == "execution_failed"
    assert harness.store.step_failures == {}
    assert harness.executor.calls == []
    harness.clock.advance(LEASE_SECONDS)
    assert await harness.drain() == 0


async def test_a_committed_step_resets_the_count(harness: Harness) -> None:
    failures = DEFAULT_POISON_PILL_AFTER - 1
    broken = breaking(harness, failures=failures)
    doc = document(
        [transform("first"), scripted("middle"), transform("last")],
        chain("first", "middle", "last"),
    )
    execution_id = await harness.start(await harness.create(doc))
    for _ in range(failures):  # `first` fails, then passes and the step commits
        await failing_claim(harness)
    for _ in range(failures):  # `last` fails as often: more in all than the limit
        await failing_claim(harness)

    await harness.drain()

    assert harness.status(execution_id) == "completed"
    assert broken.calls == {"first": failures + 1, "last": failures + 1}
    assert harness.store.step_failures == {}


async def test_failures_of_different_kinds_do_not_add_up(harness: Harness) -> None:
    breaking(harness, failures=100)
    execution_id = await harness.start(await harness.create(document([transform("bad")])))
    for _ in range(DEFAULT_POISON_PILL_AFTER - 1):
        await failing_claim(harness)
    assert harness.store.step_failures[execution_id].count == DEFAULT_POISON_PILL_AFTER - 1
    # The last failures were of another kind: the next one starts a new count.
    harness.store.step_failures[execution_id] = StepFailure(
        "OtherError", "another way", DEFAULT_POISON_PILL_AFTER - 1
    )

    await failing_claim(harness)

    assert harness.status(execution_id) == "pending"
    assert harness.store.step_failures[execution_id] == StepFailure(
        "RuntimeError", f"RuntimeError: step bug #{DEFAULT_POISON_PILL_AFTER} in bad", 1
    )
