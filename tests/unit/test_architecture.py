"""Architecture rules read from the source: the clock port is the application's only clock,
and the domain imports nothing but the standard library and itself.

Import-linter forbids a list of known packages; these scans allow a list instead, so a
package nobody thought of is caught too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WALL_CLOCK_READS = {"now", "utcnow", "today"}
DATE_TYPES = {"datetime", "date", "datetime.datetime", "datetime.date"}
EVENT_LOOP_GETTERS = {"get_running_loop", "get_event_loop"}


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def dotted_name(node: ast.expr) -> str | None:
    """`a.b.c` for a chain of names and attributes; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        owner = dotted_name(node.value)
        return None if owner is None else f"{owner}.{node.attr}"
    return None


def is_event_loop_clock(node: ast.Attribute) -> bool:
    """`asyncio.get_running_loop().time`: the event loop's own monotonic clock."""
    if node.attr != "time" or not isinstance(node.value, ast.Call):
        return False
    getter = dotted_name(node.value.func) or ""
    return getter.rsplit(".", 1)[-1] in EVENT_LOOP_GETTERS


def is_clock_attribute(node: ast.Attribute) -> bool:
    name = dotted_name(node)
    if name is None:
        return is_event_loop_clock(node)
    owner, _, attribute = name.rpartition(".")
    return (
        name == "asyncio.sleep"
        or owner == "time"
        or (owner in DATE_TYPES and attribute in WALL_CLOCK_READS)
    )


def is_clock_import(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name == "time" for alias in node.names)
    if node.module == "time":
        return True
    return node.module == "asyncio" and any(alias.name == "sleep" for alias in node.names)


def clock_reads(source: str) -> Iterator[str]:
    """Where `source` reads the time or sleeps on its own: `line: code` for each place."""
    for node in ast.walk(ast.parse(source)):
        found = (isinstance(node, ast.Attribute) and is_clock_attribute(node)) or (
            isinstance(node, ast.Import | ast.ImportFrom) and is_clock_import(node)
        )
        if found:
            yield f"{node.lineno}: {ast.unparse(node)}"


def outside_imports(source: str, package: str) -> Iterator[str]:
    """The modules `source` imports that are neither the standard library nor `package`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            modules = [node.module]
        else:
            continue  # a relative import stays inside the package
        for module in modules:
            top = module.partition(".")[0]
            if top != package and top not in sys.stdlib_module_names:
                yield module


def test_the_application_reads_the_time_and_sleeps_only_through_the_clock_port() -> None:
    files = python_files("application")
    found = {
        str(path.relative_to(ROOT)): reads
        for path in files
        if (reads := list(clock_reads(path.read_text())))
    }

    assert len(files) > 20
    assert found == {}


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    files = python_files("domain")
    found = {
        str(path.relative_to(ROOT)): modules
        for path in files
        if (modules := sorted(set(outside_imports(path.read_text(), "domain"))))
    }

    assert len(files) > 10
    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "import time",
        "import time as clock",
        "from time import monotonic",
        "from asyncio import sleep",
        "await asyncio.sleep(1)",
        "started = time.perf_counter()",
        "datetime.now(UTC)",
        "datetime.utcnow()",
        "date.today()",
        "datetime.datetime.now()",
        "field(default_factory=datetime.now)",
        "asyncio.get_running_loop().time()",
    ],
)
def test_the_clock_scan_finds_each_way_of_reading_the_time(source: str) -> None:
    assert list(clock_reads(source)) != []


@pytest.mark.parametrize(
    "source",
    [
        "self._clock.now()",
        "await self._clock.sleep(seconds)",
        "from datetime import UTC, datetime, timedelta",
        "datetime.fromisoformat(text)",
        "import asyncio",
        "row.time",
    ],
)
def test_the_clock_scan_lets_the_port_and_plain_datetimes_through(source: str) -> None:
    assert list(clock_reads(source)) == []


def test_the_import_scan_names_what_comes_from_outside() -> None:
    source = "\n".join(
        [
            "from __future__ import annotations",
            "import json, pydantic",
            "from dataclasses import dataclass",
            "from domain.planner import plan",
            "from . import transitions",
            "from sqlalchemy.orm import Session",
            "import domain.execution",
        ]
    )

    assert list(outside_imports(source, "domain")) == ["pydantic", "sqlalchemy.orm"]
