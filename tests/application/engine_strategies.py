"""Hypothesis strategies for engine scenarios: a workflow, its inputs, scripted node
outcomes per attempt, signal arrival times, worker counts, crash and stall points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.strategies import BRANCH_LABELS, workflow_documents

Draw = Callable[[st.SearchStrategy[Any]], Any]

# Scripted (network-like) nodes are common so that retries, failures and crashes matter.
ENGINE_KINDS = ("noop", "transform", "condition", "delay", "wait_for_signal") + (
    "http_request",
) * 3
OUTCOMES = ("ok",) * 5 + ("retryable", "permanent", "timeout")
MAX_SCRIPTED_ATTEMPTS = 6
SIGNAL_OFFSETS = (0.0, 0.0, 5.0, 50.0, 5000.0)  # seconds after the start; 0 = before any wait
DEFAULT_SIGNAL_TIMEOUT = 120


@dataclass(frozen=True)
class Crash:
    """Worker `worker` dies at its `at`-th port call: before it, or right after it returns."""

    worker: int
    at: int
    after: bool


@dataclass(frozen=True)
class Scenario:
    document: dict[str, Any]
    inputs: tuple[dict[str, Any], ...]
    outcomes: dict[tuple[int, str, int], str]
    signal_offsets: dict[str, float] = field(default_factory=dict)
    workers: int = 1
    crashes: tuple[Crash, ...] = ()
    yields: tuple[int, ...] = (0,)
    """How often each port call yields to the loop first (cycled): varies interleavings."""

    @property
    def wait_nodes(self) -> list[str]:
        return [n["id"] for n in self.document["nodes"] if n["kind"] == "wait_for_signal"]

    def with_workers(self, workers: int, crashes: tuple[Crash, ...] = ()) -> Scenario:
        return Scenario(
            self.document,
            self.inputs,
            self.outcomes,
            self.signal_offsets,
            workers,
            crashes,
            self.yields if crashes or workers > 1 else (0,),
        )


def signal_name(node_id: str) -> str:
    return f"sig_{node_id}"


def prepare_waits(doc: dict[str, Any], *, always_time_out: bool) -> dict[str, Any]:
    """Give each wait node its own signal name; without signals, make every wait end by
    its timeout and continue along error edges (so it does not fail every execution)."""
    for node in doc["nodes"]:
        if node["kind"] != "wait_for_signal":
            continue
        config = node.setdefault("config", {})
        config["signal"] = signal_name(node["id"])
        if always_time_out:
            config.setdefault("timeout_seconds", DEFAULT_SIGNAL_TIMEOUT)
            node["on_error"] = "continue"
    return doc


@st.composite
def scenarios(
    draw: Draw,
    *,
    max_nodes: int = 7,
    with_signals: bool = False,
    max_workers: int = 4,
    max_crashes: int = 3,
) -> Scenario:
    """A random workflow run by 1-3 executions, with outcomes, signals and crash points."""
    doc = draw(workflow_documents(min_nodes=1, max_nodes=max_nodes, kinds=ENGINE_KINDS))
    doc = prepare_waits(doc, always_time_out=not with_signals)
    # Failing fast makes which nodes end cancelled depend on timing, by design: the suite
    # checks that timing changes no outcome, so it runs without it.
    doc.get("settings", {}).pop("fail_fast", None)
    runs = draw(st.integers(1, 3))
    branch = st.sampled_from((*BRANCH_LABELS, "none"))
    inputs = tuple({"run": run, "branch": draw(branch)} for run in range(runs))
    scripted = [n["id"] for n in doc["nodes"] if n["kind"] == "http_request"]
    outcomes = {
        (run, node_id, attempt): draw(st.sampled_from(OUTCOMES))
        for run in range(runs)
        for node_id in scripted
        for attempt in range(1, MAX_SCRIPTED_ATTEMPTS + 1)
    }
    offsets: dict[str, float] = {}
    if with_signals:
        wait_ids = [n["id"] for n in doc["nodes"] if n["kind"] == "wait_for_signal"]
        offsets = {node_id: draw(st.sampled_from(SIGNAL_OFFSETS)) for node_id in wait_ids}
    workers = draw(st.integers(1, max_workers))
    crash = st.builds(Crash, st.integers(0, workers - 1), st.integers(1, 25), st.booleans())
    crashes = tuple(draw(st.lists(crash, max_size=max_crashes, unique_by=lambda c: c.worker)))
    yields = tuple(draw(st.lists(st.integers(0, 3), min_size=1, max_size=5)))
    return Scenario(doc, inputs, outcomes, offsets, workers, crashes, yields)
