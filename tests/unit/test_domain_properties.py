"""Properties of the pure domain core over random workflows and random node outcomes.

Random valid workflows (tests/strategies.py) are parsed with `parse_definition` and run
through `domain_simulator.Simulation` with a random script of results per node; the
record it keeps is then checked against the execution semantics in docs/concepts.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.definition import OnError, WorkflowDefinition
from domain.planner import NO_BRANCH_TAKEN, UPSTREAM_FAILED, edge_taken
from domain.policies import RetryPolicy
from domain.status import NodeStatus
from domain.transitions import EXECUTION_TRANSITIONS, NODE_TRANSITIONS
from domain.validation import parse_definition
from tests.strategies import ERROR_KINDS, retry_policies, workflow_documents
from tests.unit.domain_simulator import Fail, Interrupt, Scripted, Simulation, Succeed

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Each simulated example runs a whole execution: fewer of them keep the suite quick.
SIMULATED = settings(PROPERTIES, max_examples=100)
MAX_NODES = 12

results = st.one_of(
    st.builds(Succeed, st.integers(0, 5)),
    st.builds(
        Fail,
        st.sampled_from((*ERROR_KINDS, "network", "timeout")),
        st.booleans(),
        st.floats(0, 1, allow_nan=False),
    ),
    st.just(Interrupt()),
)


@st.composite
def scenarios(draw: Any) -> tuple[WorkflowDefinition, dict[str, list[Scripted]]]:
    """A workflow and, per node, the results of its attempts in order."""
    definition = parse_definition(draw(workflow_documents(max_nodes=MAX_NODES)))
    scripts = {node.id: draw(st.lists(results, max_size=6)) for node in definition.nodes}
    return definition, scripts


def simulate(
    definition: WorkflowDefinition, scripts: Mapping[str, Sequence[Scripted]]
) -> Simulation:
    """The simulation after running it to its end (or to a generous bound on rounds)."""
    # Each round moves every active node at least one step, and each node's steps are
    # bounded by its script, its attempts and one wait: this many rounds is plenty.
    steps = [len(s) + definition.retry_policy(n).max_attempts + 3 for n, s in scripts.items()]
    simulation = Simulation(definition, scripts)
    simulation.run(max_rounds=sum(steps) + 5)
    return simulation


@SIMULATED
@given(scenarios())
def test_every_execution_ends_with_every_node_terminal(scenario: Any) -> None:
    definition, scripts = scenario
    simulation = simulate(definition, scripts)
    record = simulation.record

    assert record.outcome is not None, "the loop did not reach an outcome"
    assert all(run.status.is_terminal for run in simulation.runs.values())
    assert simulation.execution.status.is_terminal


@SIMULATED
@given(scenarios())
def test_no_node_is_ready_before_all_its_predecessors_are_terminal(scenario: Any) -> None:
    definition, scripts = scenario
    record = simulate(definition, scripts).record
    for node_id, seen in record.ready_with:
        unfinished = {source: status for source, status in seen.items() if not status.is_terminal}
        assert not unfinished, f"{node_id} became ready while {unfinished} were unfinished"


@SIMULATED
@given(scenarios())
def test_skipped_nodes_never_start_and_succeeded_nodes_never_change(scenario: Any) -> None:
    definition, scripts = scenario
    record = simulate(definition, scripts).record
    started = {node_id for node_id, _ in record.starts}
    assert not started & set(record.skips)
    for node_id, statuses in record.statuses.items():
        if NodeStatus.SUCCEEDED in statuses:
            assert statuses[-1] is NodeStatus.SUCCEEDED
            assert statuses.count(NodeStatus.SUCCEEDED) == 1, node_id
        if NodeStatus.SKIPPED in statuses:
            assert statuses == [NodeStatus.PENDING, NodeStatus.SKIPPED], node_id


@SIMULATED
@given(scenarios())
def test_attempts_never_exceed_the_policy_and_interrupts_keep_the_number(scenario: Any) -> None:
    definition, scripts = scenario
    record = simulate(definition, scripts).record
    for node_id, attempt in record.starts:
        assert 1 <= attempt <= definition.retry_policy(node_id).max_attempts
    for node_id in definition.by_id:
        numbers = [attempt for started, attempt in record.starts if started == node_id]
        # Attempts count up by one, except a re-run after an interrupt, which repeats.
        assert all(b - a in (0, 1) for a, b in pairwise(numbers)), numbers
        assert numbers[:1] in ([], [1])


@SIMULATED
@given(scenarios())
def test_every_transition_is_allowed_by_the_tables(scenario: Any) -> None:
    definition, scripts = scenario
    record = simulate(definition, scripts).record
    for current, target in record.node_moves:
        assert target in NODE_TRANSITIONS[current], (current, target)
    for before, after in record.execution_moves:
        assert after in EXECUTION_TRANSITIONS[before], (before, after)
    assert all(event.node_id == node_id for node_id, event in record.events)


@SIMULATED
@given(scenarios())
def test_backoffs_in_a_run_respect_the_policy(scenario: Any) -> None:
    definition, scripts = scenario
    record = simulate(definition, scripts).record
    for backoff in record.backoffs:
        policy = definition.retry_policy(backoff.node_id)
        assert timedelta(0) <= backoff.delay <= policy.max_interval
        assert backoff.delay <= policy.backoff(backoff.attempt)
        assert backoff.attempt < policy.max_attempts


@SIMULATED
@given(scenarios())
def test_skip_reasons_and_outcome_follow_the_graph(scenario: Any) -> None:
    definition, scripts = scenario
    simulation = simulate(definition, scripts)
    record = simulation.record
    runs = simulation.runs
    for node_id, reason in record.skips.items():
        incoming = definition.incoming[node_id]
        assert reason in (UPSTREAM_FAILED, NO_BRANCH_TAKEN)
        assert not any(edge_taken(edge, runs[edge.source]) for edge in incoming) or (
            reason == UPSTREAM_FAILED
        )
    fatal = [
        node_id
        for node_id in definition.topological_order
        if runs[node_id].status is NodeStatus.FAILED
        and definition.node(node_id).on_error is OnError.FAIL
    ]
    assert record.outcome is not None
    assert record.outcome.succeeded == (not fatal)
    if fatal:
        assert record.outcome.error is not None
        assert record.outcome.error["node_id"] == fatal[0]
    else:
        succeeded_sinks = {
            n for n in definition.sink_nodes if runs[n].status is NodeStatus.SUCCEEDED
        }
        assert set(record.outcome.output) == succeeded_sinks


def _policy(doc: dict[str, Any]) -> RetryPolicy:
    return parse_definition({"nodes": [{"id": "a", "kind": "noop", "retry": doc}]}).retry_policy(
        "a"
    )


@PROPERTIES
@given(retry_policies(partial=False))
def test_backoff_without_jitter_grows_monotonically_up_to_the_cap(doc: dict[str, Any]) -> None:
    policy = _policy({**doc, "jitter": 0})
    waits = [policy.backoff(attempt) for attempt in range(1, 40)]
    assert all(wait <= policy.max_interval for wait in waits)
    assert all(a <= b for a, b in pairwise(waits)), waits
    assert waits[0] == min(policy.initial_interval, policy.max_interval)


@PROPERTIES
@given(retry_policies(partial=False), st.integers(1, 60), st.floats(0, 1, allow_nan=False))
def test_jitter_only_ever_shortens_the_wait(
    doc: dict[str, Any], attempt: int, rng_value: float
) -> None:
    policy = _policy(doc)
    full = policy.backoff(attempt)
    shaved = policy.backoff(attempt, rng_value)
    assert shaved <= full
    assert shaved.total_seconds() >= full.total_seconds() * (1 - policy.jitter) - 1e-6
