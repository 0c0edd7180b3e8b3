"""Saturating an HTTP endpoint with wrk, when it is installed.

The Python clients of W5 spend about as much CPU per request as the API itself; on a small
machine they take the cores the API would use. wrk (a C load generator: `apt install wrk`,
`brew install wrk`) costs a small fraction of that, so its figure is the API's own
capacity on the machine. Without wrk the benchmark says so and keeps the Python figure.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    non_2xx: int


def available() -> bool:
    return shutil.which("wrk") is not None


async def saturate(
    url: str, body: Any, headers: dict[str, str], connections: int, seconds: float
) -> WrkResult:
    """POST `body` as JSON to `url` over `connections` kept-alive connections for `seconds`."""
    with tempfile.TemporaryDirectory(prefix="treadle-wrk-") as folder:
        script = Path(folder) / "post.lua"
        script.write_text(_script(body, headers))
        process = await asyncio.create_subprocess_exec(
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
    return parse(output.decode())


def _script(body: Any, headers: dict[str, str]) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(json.dumps(body))}"]
    for name, value in {"Content-Type": "application/json", **headers}.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    return "\n".join(lines) + "\n"


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse(output: str) -> WrkResult:
    """The rate and the failed requests (non-2xx answers and timeouts) from wrk's report."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate: {output.strip()[-200:]}")
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    timeouts = re.search(r"Socket errors:.*?timeout\s+(\d+)", output)
    return WrkResult(
        float(rate.group(1)),
        sum(int(found.group(1)) for found in (failed, timeouts) if found is not None),
    )
