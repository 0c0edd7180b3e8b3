"""W9: W1 under a concurrency limit per key (20 keys, 5 in progress per key): what flow
control costs a short execution, beside W1 in the same run."""

from __future__ import annotations

from typing import Any

from bench.report import Figure, figure
from bench.scale import Context
from bench.workloads.throughput import ONE_STEP, _drain

KEYS = 20
LIMIT = 5
LIMITED: dict[str, Any] = {
    **ONE_STEP,
    "settings": {"concurrency": {"limit": LIMIT, "key": f"input.n % {KEYS}"}},
}


async def measure(context: Context) -> list[Figure]:
    figures = []
    for worker_count in (1, 4):
        rate, _, cpu_ms = await _drain(context, worker_count, LIMITED, "w9")
        note = f"{KEYS} keys x {LIMIT} slots; worker CPU {cpu_ms:.2f} ms/exec"
        figures.append(
            figure(
                "W9 W1 with a concurrency limit",
                f"{worker_count} worker(s)",
                rate,
                "exec/s",
                None,
                note,
            )
        )
    return figures
