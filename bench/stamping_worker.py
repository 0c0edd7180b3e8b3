"""`python -m bench.stamping_worker`: the real worker process with stamping node bodies.

The `noop` (inline: its body runs inside the step's transaction) and `http_request`
(a network kind: its attempt is committed first, then its body runs as a task) executors
are replaced by ones that append `<execution id> <kind> <time.time()>` to the file named by
`TREADLE_BENCH_STAMPS` the moment the body starts, and succeed. Everything else — claiming,
LISTEN, leases, commits — is the production worker unchanged: the stamping executors are
handed to the worker's composition root, nothing is patched.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from application.nodes.builtin import ExecutorMap
from application.ports.executors import NodeCall, NodeResult, Succeeded
from domain.definition import NodeKind
from entrypoints.bootstrap import executors_for
from entrypoints.settings import Settings, load_settings
from entrypoints.worker.main import main


class StampingExecutor:
    def __init__(self, kind: NodeKind, stamps: TextIO, inline: bool) -> None:
        self._kind = kind.value
        self._stamps = stamps
        self.inline = inline

    def decide(self, call: NodeCall) -> NodeResult:
        """The body: stamp the time it began. An inline kind is decided inside the step."""
        self._stamps.write(f"{call.execution_id} {self._kind} {time.time():.6f}\n")
        self._stamps.flush()
        return Succeeded(output=None)

    async def run(self, call: NodeCall) -> NodeResult:
        return self.decide(call)


def stamping_executors(settings: Settings) -> ExecutorMap:
    stamps = open(os.environ["TREADLE_BENCH_STAMPS"], "a")  # noqa: SIM115 (process lifetime)
    return executors_for(settings).with_executors(
        {
            NodeKind.NOOP: StampingExecutor(NodeKind.NOOP, stamps, inline=True),
            NodeKind.HTTP_REQUEST: StampingExecutor(NodeKind.HTTP_REQUEST, stamps, inline=False),
        }
    )


if __name__ == "__main__":
    settings = load_settings()
    main(settings, executors=stamping_executors(settings))
